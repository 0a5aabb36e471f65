//! Reporters: functions of outcomes, never of the network.

pub mod html;
pub mod junit;
pub mod merge;
pub mod repro;
pub mod text;
