//! Parsing one history line into a borrowed, field-level view.
//!
//! Every record type shares one flat struct ([`Raw`]) whose fields are all optional; the
//! analysis asks for the fields a type requires through [`Raw::req`], which turns a missing
//! field into an error that names the record type and the field. Strings borrow from the
//! line when they contain no escapes, so a typical record allocates only its vectors.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// An event or batch id as written: `17` and `"17"` are the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum IdRef<'a> {
    Int(u64),
    Str(Cow<'a, str>),
}

impl IdRef<'_> {
    /// Canonical form: a string that is the plain decimal rendering of a u64 is that integer.
    pub(crate) fn from_str_cow(s: Cow<'_, str>) -> IdRef<'_> {
        let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0'));
        if canonical {
            if let Ok(n) = s.parse::<u64>() {
                return IdRef::Int(n);
            }
        }
        IdRef::Str(s)
    }
}

impl fmt::Display for IdRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdRef::Int(n) => write!(f, "{n}"),
            IdRef::Str(s) => write!(f, "{s:?}"),
        }
    }
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = IdRef<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or string id")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(IdRef::Int(v))
    }
    /// serde_json reads an integer above `u64::MAX` (and any fraction or exponent) as a
    /// float: name the real problem instead of "floating point".
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(
            "a number id must be an integer from 0 to 18446744073709551615, and this one is larger or has a fraction or exponent; write such ids as strings",
        ))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        if v >= 0 {
            Ok(IdRef::Int(v as u64))
        } else {
            Ok(IdRef::Str(Cow::Owned(v.to_string())))
        }
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(IdRef::from_str_cow(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(IdRef::from_str_cow(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(IdRef::from_str_cow(Cow::Owned(v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for IdRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdVisitor)
    }
}

/// A JSON object read as an ordered list of pairs (keeps the line's order, no hashing).
#[derive(Debug, Default)]
pub(crate) struct Pairs<'a, V>(pub Vec<(Cow<'a, str>, V)>);

struct PairsVisitor<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
    type Value = Pairs<'de, V>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<CowStr<'de>>()? {
            let v = map.next_value::<V>()?;
            out.push((k.0, v));
        }
        Ok(Pairs(out))
    }
}

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for Pairs<'a, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

/// A string that borrows when it can.
#[derive(Debug)]
pub(crate) struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Strategy metadata the checker understands; other keys (such as the `version` ordo
/// writes for the versioned strategy) are ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Meta<'a> {
    pub seq: Option<i64>,
    pub ts: Option<i64>,
    pub lamport: Option<i64>,
    #[serde(borrow)]
    pub vc: Option<Pairs<'a, i64>>,
    /// A hybrid logical clock `[l, c]`, ordered lexicographically.
    pub hlc: Option<(i64, i64)>,
}

/// The header line.
#[derive(Debug, Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub format: Option<CowStr<'a>>,
    pub version: Option<u64>,
    #[serde(borrow)]
    pub expect: Option<Vec<CowStr<'a>>>,
    #[serde(borrow)]
    pub topics: Option<Vec<TopicDecl<'a>>>,
    /// How applies combine a field's writes, per field: `set` (the default), `increment`
    /// (the value is an integer added), `append` (the value is an item added to a list).
    #[serde(borrow)]
    pub operations: Option<Pairs<'a, CowStr<'a>>>,
    #[serde(borrow)]
    pub scenario: Option<CowStr<'a>>,
    #[serde(borrow)]
    pub strategy: Option<CowStr<'a>>,
    pub seed: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TopicDecl<'a> {
    #[serde(borrow)]
    pub name: CowStr<'a>,
    pub partitions: u32,
    /// `"log"` (the default) or `"queue"`.
    #[serde(borrow)]
    pub kind: Option<CowStr<'a>>,
}

/// One record, every field optional. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Raw<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Option<CowStr<'a>>,
    pub t: Option<u64>,
    #[serde(borrow)]
    pub node: Option<CowStr<'a>>,
    #[serde(borrow)]
    pub id: Option<IdRef<'a>>,
    #[serde(borrow)]
    pub entity: Option<CowStr<'a>>,
    #[serde(borrow)]
    pub key: Option<IdRef<'a>>,
    #[serde(borrow)]
    pub deps: Option<Vec<IdRef<'a>>>,
    #[serde(borrow)]
    pub writes: Option<Pairs<'a, CowStr<'a>>>,
    #[serde(borrow)]
    pub batch: Option<IdRef<'a>>,
    pub attempt: Option<u64>,
    #[serde(borrow)]
    pub topic: Option<CowStr<'a>>,
    pub partition: Option<u32>,
    #[serde(borrow)]
    pub events: Option<Vec<IdRef<'a>>>,
    pub pid: Option<i64>,
    pub seq: Option<i64>,
    pub offset: Option<u64>,
    #[serde(borrow)]
    pub reason: Option<CowStr<'a>>,
    pub retry: Option<bool>,
    #[serde(borrow)]
    pub group: Option<CowStr<'a>>,
    pub generation: Option<u64>,
    pub partitions: Option<Vec<u32>>,
    pub ok: Option<bool>,
    #[serde(borrow)]
    pub fields: Option<Pairs<'a, CowStr<'a>>>,
    pub clock: Option<i64>,
    #[serde(borrow)]
    pub meta: Option<Meta<'a>>,
    pub leader_epoch: Option<i64>,
    pub delta: Option<i64>,
    /// `replicate`: how many records.
    pub count: Option<u64>,
    // Fields of the rare records of format version 2 (`link`, `rebalance`, and
    // `net_partition`'s node lists): the fast scanner leaves lines with them to serde.
    #[serde(borrow)]
    pub from: Option<Vec<CowStr<'a>>>,
    #[serde(borrow)]
    pub to: Option<Vec<CowStr<'a>>>,
    pub latency_min_ns: Option<u64>,
    pub latency_max_ns: Option<u64>,
    pub loss_ppm: Option<u64>,
    pub duplicate_ppm: Option<u64>,
    pub fifo: Option<bool>,
    #[serde(borrow)]
    pub member: Option<CowStr<'a>>,
    #[serde(borrow)]
    pub members: Option<Vec<GroupMember<'a>>>,
}

/// One member of a `rebalance` record.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GroupMember<'a> {
    #[serde(borrow)]
    pub node: Option<CowStr<'a>>,
    pub partitions: Option<Vec<u32>>,
}

impl<'a> Raw<'a> {
    /// Parses one record line into `self` (a `Raw::default()`): the fast scanner
    /// (`scan.rs`) when it is sure, else serde, whose result (and error) is authoritative.
    /// In place, because a `Raw` is large and the scanner runs once per record.
    pub(crate) fn parse_into(&mut self, line: &'a [u8]) -> Result<(), serde_json::Error> {
        if !super::scan::fill(line, self) {
            *self = serde_json::from_slice(line)?;
        }
        Ok(())
    }
}

/// Every record type of the format (version 2), in the order the doc lists them.
pub(crate) const RECORD_TYPES: &[&str] = &[
    "create",
    "producer_init",
    "send",
    "ack",
    "fail",
    "append",
    "dedup",
    "reject",
    "replicate",
    "leader",
    "truncate",
    "rebalance_start",
    "rebalance",
    "assign",
    "revoke",
    "seek",
    "deliver",
    "apply",
    "discard",
    "commit",
    "queue_ack",
    "nack",
    "state",
    "crash",
    "restart",
    "pause",
    "resume",
    "net_partition",
    "net_heal",
    "link",
    "clock_step",
    "end",
];

/// The record types format version 2 added (a version-1 history has none of them).
pub(crate) const VERSION_2_TYPES: &[&str] = &["link", "rebalance_start", "rebalance", "replicate"];

/// Turns a serde_json error into the checker's wording (without serde's "line 1").
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let msg = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("truncated or invalid JSON: {msg} at column {}", e.column())
        }
        _ => format!("invalid record: {msg} at column {}", e.column()),
    }
}
