//! The crate's one error type: every fallible entry point returns it, so callers (the CLI, a UI
//! backend) can tell a bad input from an I/O failure without parsing messages.

use crate::graph::NodeKind;

/// Errors from building, analysing or exporting a graph.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The operation needs at least one node (or, where said, at least one edge).
    #[error("the graph is empty: {0}")]
    Empty(&'static str),
    /// An edge joins a node to itself; the model has no use for self-loops and they distort degree.
    #[error("self-loop on node {0:?}: an edge must join two different nodes")]
    SelfLoop(String),
    /// An edge, path or query names a node id that is not in the graph.
    #[error("unknown node id {0:?}")]
    UnknownNode(String),
    /// A node index past the end of the graph.
    #[error("node index {index} is out of range for a graph of {len} nodes")]
    NodeOutOfRange { index: usize, len: usize },
    /// The same id was declared once as one kind of node and again as another.
    #[error("node {id:?} was declared as {first} and again as {second}")]
    ConflictingNode {
        id: String,
        first: NodeKind,
        second: NodeKind,
    },
    /// An event node is used where a date is needed (co-travel, time-respecting paths) but has none.
    #[error("event {0:?} has no date")]
    UndatedEvent(String),
    /// An edge weight that is not finite and positive.
    #[error("edge {src:?} - {dst:?} has weight {weight}; weights must be finite and positive")]
    BadWeight {
        src: String,
        dst: String,
        weight: f64,
    },
    /// A parameter outside its allowed range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// A membership vector whose length does not match the graph or the other partition.
    #[error("partition has {got} entries where {expected} were expected")]
    PartitionLength { expected: usize, got: usize },
    /// Node indices are 32-bit to keep the adjacency compact.
    #[error("too many nodes or edges for 32-bit indices")]
    TooLarge,
    /// An export was asked for a graph holding what a partner released under handling code H2
    /// (no onward sharing); export [`crate::Graph::shareable`] instead.
    #[error(
        "the graph holds {nodes} nodes and {edges} edges a partner released under handling code H2 (no onward sharing): they cannot be exported"
    )]
    Restricted { nodes: usize, edges: usize },
    /// A malformed line in a text input.
    #[error("line {line}: {reason}")]
    Parse { line: usize, reason: String },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("csv error: {0}")]
    Csv(#[from] csv::Error),
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result with [`GraphError`].
pub type Result<T> = std::result::Result<T, GraphError>;
