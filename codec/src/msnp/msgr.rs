//! MSGR XML documents. (being written)
