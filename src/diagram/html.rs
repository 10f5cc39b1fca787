//! The self-contained HTML page: the layout as JSON in the page, the viewer's script
//! and style inline (assets/viewer.js, assets/viewer.css); nothing is fetched.

use serde_json::json;

use super::{esc, Layout, LinkKind, NO_LANE};
use crate::trace::{ms, who, History};

const SCRIPT: &str = include_str!("assets/viewer.js");
const STYLE: &str = include_str!("assets/viewer.css");

const LINK_KINDS: [LinkKind; 6] =
    [LinkKind::Send, LinkKind::Retry, LinkKind::Ack, LinkKind::Deliver, LinkKind::Apply, LinkKind::Commit];

/// The page.
pub fn html(layout: &Layout, h: &History) -> String {
    let mut tys: Vec<String> = Vec::new();
    let mut ty_of = |name: &str| -> usize {
        match tys.iter().position(|t| t == name) {
            Some(i) => i,
            None => {
                tys.push(name.to_string());
                tys.len() - 1
            }
        }
    };
    let n = layout.items.len();
    let (mut line, mut time, mut lane, mut ty, mut label, mut words, mut who_col, mut ents, mut part) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for item in &layout.items {
        let r = &h.recs[item.rec];
        line.push(r.line);
        time.push(ms(r.t));
        lane.push(if item.lane == NO_LANE { -1 } else { i64::try_from(item.lane).unwrap_or(-1) });
        ty.push(ty_of(h.s(r.ty_name)));
        label.push(item.label.as_str());
        words.push(item.words.as_str());
        who_col.push(who(h, r));
        ents.push(item.entities.clone());
        part.push(item.partition.map_or(-1, i64::from));
    }
    let mut links = Vec::with_capacity(layout.links.len() * 3);
    for &(a, b, kind) in &layout.links {
        links.extend([a, b, LINK_KINDS.iter().position(|k| *k == kind).unwrap_or(0)]);
    }
    let spans: Vec<_> = layout
        .spans
        .iter()
        .map(|s| {
            json!([if s.lane == NO_LANE { -1 } else { i64::try_from(s.lane).unwrap_or(-1) }, s.from, s.to, s.what])
        })
        .collect();
    let violations: Vec<_> = layout
        .violations
        .iter()
        .map(|v| json!({"n": v.number, "title": v.title, "sentence": v.sentence, "witness": v.witness, "chain": v.chain}))
        .collect();
    let focus = if layout.focused { layout.violations.first().map_or(0, |v| v.number) } else { 0 };
    let data = json!({
        "title": layout.title,
        "lanes": layout.lanes.iter().map(|l| json!({"name": l.name, "role": l.role})).collect::<Vec<_>>(),
        "line": line, "ms": time, "lane": lane, "ty": ty, "tys": tys, "label": label, "words": words,
        "who": who_col, "ents": ents, "part": part,
        "links": links, "link_kinds": LINK_KINDS.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "spans": spans,
        "entities": layout.entities, "partitions": layout.partitions,
        "violations": violations, "violations_total": layout.violations_total,
        "focus": focus,
    });
    // `</` inside a script element would end it: JSON allows `<\/` for `</`.
    let data = data.to_string().replace("</", "<\\/");
    let title = esc(&layout.title);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ordo diagram: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style></head>
<body>
<div id="side">
<h1>{title}</h1>
<div id="count"></div>
<label>entity <input id="f-entity" list="entities" placeholder="all"></label><datalist id="entities"></datalist>
<label>partition <select id="f-part"><option value="-1">all</option></select></label>
<label>node <select id="f-node"><option value="-1">all</option></select></label>
<label>only the selected chain <input id="chain-only" type="checkbox" style="width:auto"></label>
<div>violations (click one to zoom to its witness):</div>
<div id="violations"></div>
</div>
<div id="main">
<div id="bar"><button id="zoom-in" title="zoom in (ctrl+wheel)">+</button><button id="zoom-out" title="zoom out">−</button><button id="clear">clear selection</button>
<span>time runs down, one row per record; hover a mark for its history line</span></div>
<div id="story"></div>
<div id="head"><div id="lanes"></div></div>
<div id="scroller"><div id="canvas"><div id="times"></div><svg id="view" xmlns="http://www.w3.org/2000/svg"></svg></div></div>
</div>
<div id="tip"></div>
<script id="ordo-data" type="application/json">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"#
    )
}
