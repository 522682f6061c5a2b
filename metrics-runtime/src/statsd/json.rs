//! A small JSON reader for the crate's own JSON exposition, which the exporter reads each flush
//! to learn every series' current value through the public [`Metrics`](crate::Metrics) API.
//!
//! Numbers keep their text, so that `u64` counters above 2^53 stay exact.

use std::borrow::Cow;

/// A JSON value borrowing from the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's text.
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> &[Json<'a>] {
        match self {
            Json::Arr(items) => items,
            _ => &[],
        }
    }

    pub(crate) fn as_object(&self) -> &[(Cow<'a, str>, Json<'a>)] {
        match self {
            Json::Obj(members) => members,
            _ => &[],
        }
    }

    /// An unsigned integer (a counter value or a bucket count).
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// A number, or one of the strings the exposition uses for the values JSON cannot spell.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(text) => text.parse().ok(),
            Json::Str(s) => match s.as_ref() {
                "NaN" => Some(f64::NAN),
                "+Inf" => Some(f64::INFINITY),
                "-Inf" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Parses a complete document; `None` if it is not valid JSON.
pub(crate) fn parse(text: &str) -> Option<Json<'_>> {
    let mut p = Parser { s: text, b: text.as_bytes(), i: 0, depth: 0 };
    let value = p.value()?;
    p.ws();
    (p.i == p.b.len()).then_some(value)
}

/// Nesting allowed: the exposition uses four levels.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str, value: Json<'a>) -> Option<Json<'a>> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<Json<'a>> {
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => self.nested(Self::object),
            b'[' => self.nested(Self::array),
            b'"' => self.string().map(Json::Str),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Option<Json<'a>>) -> Option<Json<'a>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let value = f(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Option<Json<'a>> {
        self.i += 1;
        let mut members = Vec::new();
        if self.eat(b'}') {
            return Some(Json::Obj(members));
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            members.push((key, self.value()?));
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(Json::Obj(members));
        }
    }

    fn array(&mut self) -> Option<Json<'a>> {
        self.i += 1;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Some(Json::Arr(items));
        }
        loop {
            items.push(self.value()?);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']').then_some(Json::Arr(items));
        }
    }

    fn number(&mut self) -> Option<Json<'a>> {
        let start = self.i;
        while matches!(self.b.get(self.i), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.i += 1;
        }
        let text = &self.s[start..self.i];
        text.parse::<f64>().ok().map(|_| Json::Num(text))
    }

    /// A string starting at the opening quote; borrowed unless it has escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    let s = &self.s[start..self.i];
                    self.i += 1;
                    return Some(Cow::Borrowed(s));
                }
                b'\\' => break,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let mut out = String::from(&self.s[start..self.i]);
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let escape = *self.b.get(self.i + 1)?;
                    self.i += 2;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) && self.s[self.i..].starts_with("\\u") {
                                self.i += 2;
                                let low = self.hex4()?;
                                code = 0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => {
                    // Copy one whole UTF-8 character.
                    let ch = self.s[self.i..].chars().next()?;
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + 4)?;
        let code = u32::from_str_radix(digits, 16).ok()?;
        self.i += 4;
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exposition_shapes() {
        let doc = r#"{"metrics":[{"name":"a_total","type":"counter","series":[{"labels":{"p":"say \"hi\"\n\u00e9\ud83d\ude80"},"value":18446744073709551615}]},
            {"name":"g","series":[{"labels":{},"value":"NaN"},{"labels":{},"value":-2.5e-3}]}, true, false, null]}"#;
        let json = parse(doc).unwrap();
        let metrics = json.get("metrics").unwrap().as_array();
        assert_eq!(metrics.len(), 5);
        assert_eq!(metrics[0].get("type").and_then(Json::as_str), Some("counter"));
        let series = &metrics[0].get("series").unwrap().as_array()[0];
        assert_eq!(series.get("value").unwrap().as_u64(), Some(u64::MAX));
        let labels = series.get("labels").unwrap().as_object();
        assert_eq!(labels[0].0, "p");
        assert_eq!(labels[0].1.as_str(), Some("say \"hi\"\né🚀"));
        let g = metrics[1].get("series").unwrap().as_array();
        assert!(g[0].get("value").unwrap().as_f64().unwrap().is_nan());
        assert_eq!(g[1].get("value").unwrap().as_f64(), Some(-0.0025));
        assert_eq!(metrics[2], Json::Bool(true));
        assert_eq!(metrics[4], Json::Null);
    }

    #[test]
    fn rejects_malformed_documents() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"x", "[1] 2", "{\"a\":tru}", "\"\u{1}\""] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).is_none());
    }
}
