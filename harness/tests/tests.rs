// Integration tests of the imspec crate (being written).
