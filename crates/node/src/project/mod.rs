//! Linkage projects: what a project is ([`spec`]), the secret sealed to each data holder so
//! that the linkage unit, which relays it, cannot open it ([`seal`]), the unit's store of
//! projects, uploads, runs and results ([`unit`]), and a run itself ([`run`]).

pub mod holder;
pub mod run;
pub mod seal;
pub mod spec;
pub mod unit;

pub use seal::{SealError, SealedSecret};
pub use spec::{Band, Bands, ProjectSpec, SpecError};
pub use unit::{ResultRow, UnitStore};
