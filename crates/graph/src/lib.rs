//! Network analysis over a node's linked records: the typed graph of persons, phones, vehicles,
//! addresses, accounts, organisations and events with their time-stamped ties; the algorithms an
//! analyst runs on it (components, Leiden communities, centrality, paths, co-travel); and the
//! exports that carry it into Gephi, spreadsheets or a UI.
//!
//! The crate owns the graph model and the analysis only. Reading a node's store and deciding
//! which records become which nodes is the caller's job; every entry point takes plain data and
//! returns [`GraphError`] on bad input rather than panicking.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod betweenness;
pub mod brokerage;
pub mod centrality;
pub mod components;
pub mod cotravel;
pub mod csr;
pub mod error;
pub mod export;
pub mod generate;
pub mod graph;
pub mod io;
pub mod kpaths;
pub mod leiden;
pub mod paths;
pub mod persist;
pub mod quality;
pub mod saved;

pub use betweenness::{betweenness, betweenness_sampled};
pub use brokerage::{Brokerage, brokerage};
pub use centrality::{DegreeStats, PageRank, PageRankConfig, degree_stats, pagerank};
pub use components::{Components, connected_components};
pub use cotravel::{CoTravel, CoTravelConfig, CoTravelReport, co_travel, co_travel_edges};
pub use csr::{Csr, NodeIx};
pub use error::{GraphError, Result};
pub use export::{Column, Values};
pub use graph::{
    Applied, Country, Edge, EdgeInput, EdgeKind, Filter, Graph, Handling, Node, NodeKind, OriginIx,
    Provenance, Restricted, Update,
};
pub use io::{read_edge_list, write_atomic};
pub use kpaths::k_shortest_paths;
pub use leiden::{LeidenConfig, Objective, Partition, leiden, leiden_from};
pub use paths::{
    TemporalPath, TimeWindow, cheapest_path, ego_network, shortest_path, time_respecting_path,
};
pub use quality::{cpm, modularity, nmi};
pub use saved::{Centrality, SavedDir, Shareable, shareable};
