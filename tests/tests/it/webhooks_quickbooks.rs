//! placeholder

#[allow(unused_imports)]
use super::webhook_world::*;
