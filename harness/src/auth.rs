//! Credentials and digests shared by the runner and the reference server. (being written)
