//! quick-xml helpers shared by the XML body codecs. (being written)
