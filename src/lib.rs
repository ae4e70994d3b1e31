//! tickwheel (work in progress)
#![forbid(unsafe_code)]
#![allow(dead_code)]
pub(crate) mod wheel;
