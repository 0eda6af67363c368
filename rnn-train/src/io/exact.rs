//! Serde helpers that write f32 values as JSON numbers which read back to the same bits.
//!
//! An f32 is widened to f64 (exact) and printed as the shortest decimal that reads back to
//! that f64; serde_json (with its `float_roundtrip` feature) parses it back exactly, and the
//! narrowing to f32 is then exact too. Printing the f32's own shortest decimal instead would
//! be read through f64 and rounded twice, which can be one bit off.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod scalar {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
        f64::from(*v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        Ok(f64::deserialize(d)? as f32)
    }
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
        v.map(f64::from).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.map(|v| v as f32))
    }
}

pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| f64::from(x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        Ok(Vec::<f64>::deserialize(d)?
            .into_iter()
            .map(|x| x as f32)
            .collect())
    }
}
