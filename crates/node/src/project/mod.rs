//! Linkage projects: what a project is ([`spec`]), the secret sealed to each data holder so
//! that the linkage unit, which relays it, cannot open it ([`seal`]), the unit's store of
//! projects, uploads, runs and results ([`unit`]), a run itself ([`run`]), and an agency's
//! clerical reviews of its hits ([`reviews`]).

pub mod holder;
pub mod reviews;
pub mod run;
pub mod seal;
pub mod spec;
pub mod unit;

pub use seal::{SealError, SealedSecret};
pub use spec::{Band, Bands, ProjectSpec, SpecError};
pub use unit::{ResultRow, UnitStore};
