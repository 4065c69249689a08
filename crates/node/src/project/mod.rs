//! Linkage projects. So far: sealing the project secret to each data holder, so that the
//! linkage unit, which relays the sealed secrets, cannot open them.

pub mod seal;

pub use seal::{SealError, SealedSecret};
