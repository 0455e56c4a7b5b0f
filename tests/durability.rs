//! Filled in by the durability tests (kill -9 of the server under concurrent writers).
