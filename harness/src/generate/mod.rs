//! Generated and stateful testing: proptest strategies that make the same requests
//! hand-written cases do, properties that judge the exchanges with the shared checks, and a
//! model-based sequence runner. Which generators run, how many cases, and which properties
//! are checked is declared in `cases/properties.toml`.

pub mod auth;
pub mod bodies;
pub mod case;
pub mod chars;
pub mod coverage;
pub mod coverage_list;
pub mod declare;
pub mod driver;
pub mod ids;
pub mod lists;
pub mod properties;
pub mod shrink;
pub mod shrinkers;
pub mod stateful;
pub mod stateless;
pub mod text;
