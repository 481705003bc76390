//! Round-trip law checkers. (being written)
