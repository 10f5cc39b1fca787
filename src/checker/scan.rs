//! The fast path for one record line: a strict, allocation-light scanner that fills the
//! same [`Raw`] serde would, for the lines it is sure about, and declines everything else.
//!
//! [`Raw::parse`] tries this first and falls back to `serde_json` whenever the scanner
//! returns `None`, so verdicts and error messages are serde's by construction: the scanner
//! never reports an error, it only ever accepts input that serde accepts, with the same
//! result. It declines (returns `None`) on
//! - anything that is not a JSON object, or has trailing characters;
//! - a backslash or a control character in any string (serde unescapes or rejects them);
//! - a known field given twice (serde rejects duplicates), or of an unexpected JSON type;
//! - numbers that are not plain integers within the field's range (floats, `-0`, leading
//!   zeros, overflow), and negative integers where serde would refuse them;
//! - invalid UTF-8 anywhere in the line (serde validates only the strings it keeps);
//! - nesting deeper than [`MAX_DEPTH`] in skipped values.
//!
//! Ignored values are checked against the JSON grammar as strictly as serde does.
//! `tests.rs` holds a differential test: on every line of the test histories and on
//! random mutations of them, the scanner either declines or agrees with serde exactly.
//!
//! Meta is built with a struct literal and Raw is destructured field by field, so adding a
//! field to either fails to compile here until the scanner reads it too.

use std::borrow::Cow;

use super::record::{CowStr, IdRef, Meta, Pairs, Raw};

/// Deepest nesting accepted in skipped values (serde_json's limit is 128).
const MAX_DEPTH: u32 = 32;

/// A JSON integer as serde_json reads it: non-negative as `U64`, negative as `I64`.
#[derive(Clone, Copy)]
enum Num {
    U64(u64),
    I64(i64),
}

impl Num {
    fn u64(self) -> Option<u64> {
        match self {
            Num::U64(v) => Some(v),
            Num::I64(_) => None,
        }
    }
    fn i64(self) -> Option<i64> {
        match self {
            Num::U64(v) => i64::try_from(v).ok(),
            Num::I64(v) => Some(v),
        }
    }
    fn u32(self) -> Option<u32> {
        self.u64().and_then(|v| u32::try_from(v).ok())
    }
}

struct Scan<'a> {
    /// The line, validated as UTF-8 once; kept strings are slices of it.
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Parses one record line, or `None` when serde must decide.
pub(crate) fn raw(line: &[u8]) -> Option<Raw<'_>> {
    // One UTF-8 check for the whole line (serde checks only the strings it keeps, so a
    // line with invalid UTF-8 in a skipped string is left to serde).
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scan { text, b: line, i: 0 };
    let raw = s.record()?;
    s.ws();
    (s.i == s.b.len()).then_some(raw)
}

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn literal(&mut self, text: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + text.len())? == text {
            self.i += text.len();
            Some(())
        } else {
            None
        }
    }

    /// `null` (consumed) → true.
    #[inline]
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Some(true)
        } else {
            Some(false)
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let c = *self.b.get(self.i)?;
            if c == b'"' {
                break;
            }
            if c == b'\\' || c < 0x20 {
                return None;
            }
            self.i += 1;
        }
        // Both ends are ASCII quotes, hence character boundaries.
        let s = self.text.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    fn cow(&mut self) -> Option<CowStr<'a>> {
        Some(CowStr(Cow::Borrowed(self.str()?)))
    }

    /// An integer: optional minus, no leading zeros, no fraction or exponent, no overflow.
    fn num(&mut self) -> Option<Num> {
        let neg = self.peek()? == b'-';
        if neg {
            self.i += 1;
        }
        let first = self.peek()?;
        if !first.is_ascii_digit() {
            return None;
        }
        self.i += 1;
        let mut v = u64::from(first - b'0');
        if first == b'0' {
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
        } else {
            while let Some(c @ b'0'..=b'9') = self.peek() {
                v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        if !neg {
            return Some(Num::U64(v));
        }
        // serde_json turns `-0` and anything below i64::MIN into a float.
        if v == 0 || v > 1 << 63 {
            return None;
        }
        Some(Num::I64((v as i64).wrapping_neg()))
    }

    fn id(&mut self) -> Option<IdRef<'a>> {
        if self.peek()? == b'"' {
            return Some(IdRef::from_str_cow(Cow::Borrowed(self.str()?)));
        }
        Some(match self.num()? {
            Num::U64(v) => IdRef::Int(v),
            Num::I64(v) => IdRef::Str(Cow::Owned(v.to_string())),
        })
    }

    /// `[a, b, …]` of `item`.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        self.ws();
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            self.ws();
            out.push(item(self)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// `{"k": v, …}` visiting each key (borrowed) with the cursor on its value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.str()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            field(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn pairs<V>(&mut self, mut value: impl FnMut(&mut Self) -> Option<V>) -> Option<Pairs<'a, V>> {
        let mut out = Vec::new();
        self.object(|s, key| {
            out.push((Cow::Borrowed(key), value(s)?));
            Some(())
        })?;
        Some(Pairs(out))
    }

    /// Skips any JSON value, as strictly as serde_json's `ignore_value`.
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.skip_str(),
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    self.skip_str()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// A skipped string: like serde_json, its bytes are not checked for UTF-8.
    fn skip_str(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            if c == b'"' {
                return Some(());
            }
            if c == b'\\' || c < 0x20 {
                return None;
            }
        }
    }

    fn digits(&mut self) -> Option<()> {
        if !self.peek()?.is_ascii_digit() {
            return None;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        Some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn skip_number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return None;
                }
            }
            b'1'..=b'9' => self.digits()?,
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    fn meta(&mut self) -> Option<Meta<'a>> {
        let (mut seq, mut version, mut ts, mut lamport, mut vc) = (None, None, None, None, None);
        let mut seen = 0u32;
        self.object(|s, key| {
            let bit = match key {
                "seq" => 1,
                "version" => 2,
                "ts" => 4,
                "lamport" => 8,
                "vc" => 16,
                _ => return s.skip(1),
            };
            if seen & bit != 0 {
                return None; // serde: duplicate field
            }
            seen |= bit;
            if s.null()? {
                return Some(());
            }
            match key {
                "seq" => seq = Some(s.num()?.i64()?),
                "version" => version = Some(s.num()?.i64()?),
                "ts" => ts = Some(s.num()?.i64()?),
                "lamport" => lamport = Some(s.num()?.i64()?),
                _ => vc = Some(s.pairs(|s| s.num()?.i64())?),
            }
            Some(())
        })?;
        Some(Meta { seq, version, ts, lamport, vc })
    }

    fn record(&mut self) -> Option<Raw<'a>> {
        let mut r = Raw::default();
        let mut seen = 0u32;
        self.ws();
        self.object(|s, key| {
            let bit: u32 = match key {
                "type" => 0,
                "t" => 1,
                "node" => 2,
                "id" => 3,
                "entity" => 4,
                "key" => 5,
                "deps" => 6,
                "writes" => 7,
                "batch" => 8,
                "attempt" => 9,
                "topic" => 10,
                "partition" => 11,
                "events" => 12,
                "pid" => 13,
                "seq" => 14,
                "offset" => 15,
                "reason" => 16,
                "retry" => 17,
                "group" => 18,
                "generation" => 19,
                "partitions" => 20,
                "ok" => 21,
                "fields" => 22,
                "clock" => 23,
                "meta" => 24,
                "leader_epoch" => 25,
                "delta" => 26,
                _ => return s.skip(1),
            };
            if seen & (1 << bit) != 0 {
                return None; // serde: duplicate field
            }
            seen |= 1 << bit;
            if s.null()? {
                return Some(());
            }
            match bit {
                0 => r.ty = Some(s.cow()?),
                1 => r.t = Some(s.num()?.u64()?),
                2 => r.node = Some(s.cow()?),
                3 => r.id = Some(s.id()?),
                4 => r.entity = Some(s.cow()?),
                5 => r.key = Some(s.id()?),
                6 => r.deps = Some(s.array(Scan::id)?),
                7 => r.writes = Some(s.pairs(Scan::cow)?),
                8 => r.batch = Some(s.id()?),
                9 => r.attempt = Some(s.num()?.u64()?),
                10 => r.topic = Some(s.cow()?),
                11 => r.partition = Some(s.num()?.u32()?),
                12 => r.events = Some(s.array(Scan::id)?),
                13 => r.pid = Some(s.num()?.i64()?),
                14 => r.seq = Some(s.num()?.i64()?),
                15 => r.offset = Some(s.num()?.u64()?),
                16 => r.reason = Some(s.cow()?),
                17 => r.retry = Some(s.bool()?),
                18 => r.group = Some(s.cow()?),
                19 => r.generation = Some(s.num()?.u64()?),
                20 => r.partitions = Some(s.array(|s| s.num()?.u32())?),
                21 => r.ok = Some(s.bool()?),
                22 => r.fields = Some(s.pairs(Scan::cow)?),
                23 => r.clock = Some(s.num()?.i64()?),
                24 => r.meta = Some(s.meta()?),
                25 => r.leader_epoch = Some(s.num()?.i64()?),
                _ => r.delta = Some(s.num()?.i64()?),
            }
            Some(())
        })?;
        // Every field of Raw is named here: a new field fails to compile until read above.
        let Raw { ty: _, t: _, node: _, id: _, entity: _, key: _, deps: _, writes: _, batch: _, attempt: _, topic: _, partition: _, events: _, pid: _, seq: _, offset: _, reason: _, retry: _, group: _, generation: _, partitions: _, ok: _, fields: _, clock: _, meta: _, leader_epoch: _, delta: _ } = &r;
        Some(r)
    }

    fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| true),
            b'f' => self.literal(b"false").map(|_| false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Differential test: on every line of the test histories, on hand-written corner
    //! cases and on random mutations of both, the scanner declines or agrees with serde.

    use proptest::prelude::*;

    use super::super::record::Raw;

    /// Lines serde and the scanner must agree on (or the scanner must decline).
    const CORNERS: &[&str] = &[
        r#"{"type":"create","t":1,"node":"p0","id":1,"entity":"a","deps":[]}"#,
        r#" { "type" : "create" , "t" : 1 , "node":"p0","id":"1","deps":[ 1 , "x" ] } "#,
        "{\"type\":\"apply\",\t\"t\":3,\r\n\"node\":\"c0\",\"group\":\"g\",\"id\":2}",
        r#"{"type":"apply","t":3,"t":4}"#,
        r#"{"type":"apply","t":null,"t":4}"#,
        r#"{"type":"apply","t":null}"#,
        r#"{"type":null,"t":1}"#,
        r#"{"type":"apply","t":-1}"#,
        r#"{"type":"apply","t":1.0}"#,
        r#"{"type":"apply","t":1e3}"#,
        r#"{"type":"apply","t":01}"#,
        r#"{"type":"apply","t":18446744073709551615}"#,
        r#"{"type":"apply","t":18446744073709551616}"#,
        r#"{"type":"send","t":1,"partition":4294967295}"#,
        r#"{"type":"send","t":1,"partition":4294967296}"#,
        r#"{"type":"send","t":1,"pid":-9223372036854775808}"#,
        r#"{"type":"send","t":1,"pid":-9223372036854775809}"#,
        r#"{"type":"send","t":1,"pid":9223372036854775807}"#,
        r#"{"type":"send","t":1,"pid":9223372036854775808}"#,
        r#"{"type":"send","t":1,"pid":-0}"#,
        r#"{"type":"send","t":1,"id":-5,"batch":"007","events":[-1,"01","1",0]}"#,
        r#"{"type":"send","t":1,"id":1.5}"#,
        r#"{"type":"send","t":1,"id":true}"#,
        r#"{"type":"send","t":1,"events":[1,]}"#,
        r#"{"type":"send","t":1,"events":[,1]}"#,
        r#"{"type":"send","t":1,"events":[]}"#,
        r#"{"type":"send","t":1,}"#,
        r#"{,"type":"send"}"#,
        r#"{}"#,
        r#"[]"#,
        r#"["create",1]"#,
        r#"{"type":"end","t":9,"reason":"quiescent"} x"#,
        r#"{"type":"end","t":9,"reason":"quiescent"}}"#,
        r#"{"type":"end","t":9,"reason":"qu\"iescent"}"#,
        r#"{"type":"end","t":9,"reason":"qu\u0069escent"}"#,
        r#"{"type":"end","t":9,"rea\u0073on":"quiescent"}"#,
        "{\"type\":\"end\",\"t\":9,\"reason\":\"qu\tiescent\"}",
        r#"{"type":"end","t":9,"reason":"quiéscent","node":"ü"}"#,
        r#"{"type":"end","t":9,"other":{"a":[1,2,{"b":null}],"c":-0.5e-3,"d":"x"},"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":[1,2,],"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":{"a":1,},"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":-,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":1.,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":.5,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":1e,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":01,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":tru,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":nulll,"reason":"q"}"#,
        r#"{"type":"end","t":9,"other":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"reason":"q"}"#,
        r#"{"type":"commit","t":1,"ok":true,"retry":false}"#,
        r#"{"type":"commit","t":1,"ok":1}"#,
        r#"{"type":"commit","t":1,"ok":"true"}"#,
        r#"{"type":"commit","t":1,"ok":truee}"#,
        r#"{"type":"assign","t":1,"partitions":[0,1,2]}"#,
        r#"{"type":"assign","t":1,"partitions":[0,-1]}"#,
        r#"{"type":"assign","t":1,"partitions":{"a":1}}"#,
        r#"{"type":"create","t":1,"writes":{"status":"created","status":"x"},"key":7}"#,
        r#"{"type":"create","t":1,"writes":{"status":1}}"#,
        r#"{"type":"create","t":1,"writes":["status"]}"#,
        r#"{"type":"state","t":1,"fields":{}}"#,
        r#"{"type":"create","t":1,"meta":{"seq":1,"version":2,"ts":-3,"lamport":4,"vc":{"p0":1,"p1":2},"hlc":[1,2]}}"#,
        r#"{"type":"create","t":1,"meta":{"seq":1,"seq":2}}"#,
        r#"{"type":"create","t":1,"meta":{"version":"x"}}"#,
        r#"{"type":"create","t":1,"meta":{"vc":{"p0":1.5}}}"#,
        r#"{"type":"create","t":1,"meta":null}"#,
        r#"{"type":"create","t":1,"meta":[1,2,3,4,null]}"#,
        r#"{"type":"create","t":1,"meta":{}}"#,
        r#"{"type":"create","t":1,"meta":{"vc":null,"lamport":null}}"#,
        r#"{"type":"create","t":1,"deps":null,"writes":null}"#,
        r#"{"type":"create","t":1,"deps":[null]}"#,
        r#"{"type":"leader","t":0,"node":"b0","topic":"orders","partition":0,"leader_epoch":-1,"delta":-7,"clock":-2}"#,
        r#"{"type":"leader"  ,  "t":0}   "#,
        "{\"type\":\"leader\",\"t\":0}\u{0}",
        "",
        " ",
        "{",
        "{\"type\"",
        "{\"type\":",
        "{\"type\":\"x",
        "{\"type\":\"x\"",
        "{\"type\":\"x\",",
    ];

    fn corpus() -> Vec<Vec<u8>> {
        let mut lines: Vec<Vec<u8>> = CORNERS.iter().map(|l| l.as_bytes().to_vec()).collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
        let mut files: Vec<_> = std::fs::read_dir(&dir).expect("tests/histories").flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|x| x == "jsonl")) {
            let text = std::fs::read(&f).expect("readable history");
            lines.extend(text.split(|&b| b == b'\n').skip(1).map(<[u8]>::to_vec));
        }
        lines
    }

    /// The property: declined, or equal to serde's result (and serde must accept it).
    fn agrees(line: &[u8]) -> Result<bool, String> {
        let Some(fast) = super::raw(line) else { return Ok(false) };
        match serde_json::from_slice::<Raw<'_>>(line) {
            Ok(slow) if format!("{fast:?}") == format!("{slow:?}") => Ok(true),
            Ok(slow) => Err(format!("{}: scanner {fast:?}, serde {slow:?}", String::from_utf8_lossy(line))),
            Err(e) => Err(format!("{}: scanner accepted what serde rejects ({e})", String::from_utf8_lossy(line))),
        }
    }

    #[test]
    fn scanner_agrees_with_serde_on_the_corpus() {
        let mut accepted = 0;
        for line in corpus() {
            if agrees(&line).unwrap_or_else(|e| panic!("{e}")) {
                accepted += 1;
            }
        }
        assert!(accepted > 300, "the scanner takes the common lines ({accepted})");
    }

    #[test]
    fn scanner_takes_every_line_ordo_writes() {
        let scenario = crate::scenario::Scenario::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/quickstart.toml"
        )))
        .expect("quickstart loads");
        let strategy = crate::strategy::StrategySet::parse(&scenario.strategy).expect("its strategy");
        let result = crate::run::run(crate::run::RunSpec {
            seed: 1,
            scenario,
            scenario_path: std::path::Path::new("scenarios/quickstart.toml"),
            strategy,
            history_mode: crate::history::HistoryMode::On,
            history_file: None,
            keep_history: true,
        })
        .expect("quickstart runs");
        let text = result.history.jsonl.expect("kept in memory");
        for line in text.split(|&b| b == b'\n').skip(1).filter(|l| !l.is_empty()) {
            assert_eq!(agrees(line), Ok(true), "{}", String::from_utf8_lossy(line));
        }
    }

    /// Bytes that change how a line parses.
    const SPICE: &[u8] = b"\"\\{}[]:,-+.eE0123456789 \t\nntfu\x00\x1f\x7f\xc3\xa9\xff";

    proptest! {
        #[test]
        fn scanner_agrees_with_serde_on_mutations(
            pick in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<prop::sample::Index>()), 1..4),
        ) {
            let corpus = corpus();
            let mut line = corpus[pick.index(corpus.len())].clone();
            for (at, op, byte) in edits {
                let i = at.index(line.len() + 1);
                let b = SPICE[byte.index(SPICE.len())];
                match op {
                    0 => line.insert(i, b),
                    1 if i < line.len() => { line.remove(i); }
                    _ if i < line.len() => line[i] = b,
                    _ => line.push(b),
                }
            }
            if let Err(e) = agrees(&line) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}
