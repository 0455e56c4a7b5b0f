//! End-to-end tests: the real `silkmatch` binary and the real server on loopback, on real data
//! directories in temp dirs.

mod api;
mod batch;
mod batch_scaleout;
mod cli;
mod common;
mod durability;
mod import;
mod matching;
mod model;
mod web;
mod web_http;
