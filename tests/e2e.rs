//! End-to-end tests: the real `silkmatch` binary on real data directories in temp dirs.

mod cli;
mod common;
mod import;
mod matching;
