//! The static SVG: every item of the layout, for docs and slides.

use std::fmt::Write as _;

use super::{esc, Layout, LinkKind, NO_LANE};
use crate::trace::{ms, History, Ty};

const LEFT: usize = 96;
const TOP: usize = 56;
const LANE_W: usize = 190;
const ROW_H: usize = 18;

fn lane_x(lane: usize) -> usize {
    if lane == NO_LANE {
        LEFT - 14
    } else {
        LEFT + 24 + lane * LANE_W
    }
}

/// Fill colour of a record's mark.
pub fn colour(ty: Ty) -> &'static str {
    match ty {
        Ty::Create | Ty::Send | Ty::Ack | Ty::ProducerInit => "#1f77b4",
        Ty::Fail | Ty::Reject => "#d62728",
        Ty::Append | Ty::Dedup | Ty::Leader | Ty::Truncate => "#2ca02c",
        Ty::Deliver | Ty::Apply | Ty::Seek | Ty::Assign | Ty::Revoke | Ty::QueueAck | Ty::Nack => "#9467bd",
        Ty::Commit => "#8c564b",
        Ty::Discard => "#e377c2",
        _ => "#555555",
    }
}

/// Stroke colour and dash pattern of an arrow.
pub fn link_style(kind: LinkKind) -> (&'static str, &'static str) {
    match kind {
        LinkKind::Send => ("#1f77b4", ""),
        LinkKind::Retry => ("#ff7f0e", "6 3"),
        LinkKind::Ack => ("#aaaaaa", "2 2"),
        LinkKind::Deliver => ("#2ca02c", ""),
        LinkKind::Apply => ("#9467bd", ""),
        LinkKind::Commit => ("#8c564b", "1 3"),
    }
}

/// The picture.
pub fn svg(layout: &Layout, h: &History) -> String {
    let rows = layout.items.len();
    let width = LEFT + 24 + layout.lanes.len().max(1) * LANE_W + 140;
    // About 6.6 px per character at 11 px monospace.
    let chars = (width.saturating_sub(16) * 10 / 66).max(40);
    let sentence_lines = layout.sentence.as_deref().map(|s| wrap(s, chars)).unwrap_or_default();
    let height = TOP + rows.max(1) * ROW_H + 30 + sentence_lines.len() * 16;
    let mut s = String::with_capacity(256 + rows * 300);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">"#
    );
    let _ = writeln!(s, "<title>{}</title>", esc(&layout.title));
    s.push_str(
        r##"<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
"##,
    );
    let _ = writeln!(
        s,
        r##"<text x="8" y="18" font-size="13" font-weight="bold">{}</text>"##,
        esc(&cut(&layout.title, chars * 11 / 13))
    );
    let _ = writeln!(s, r##"<text x="8" y="{}" fill="#666">time (ms)</text>"##, TOP - 8);
    // Lanes.
    for (i, lane) in layout.lanes.iter().enumerate() {
        let x = lane_x(i);
        let _ = writeln!(
            s,
            r##"<g class="lane" data-node="{n}"><text x="{x}" y="{ty}" text-anchor="middle" font-weight="bold">{n}</text><text x="{x}" y="{ry}" text-anchor="middle" fill="#888" font-size="9">{role}</text><line x1="{x}" y1="{TOP}" x2="{x}" y2="{y2}" stroke="#cccccc"/></g>"##,
            n = esc(&lane.name),
            ty = TOP - 22,
            ry = TOP - 11,
            role = lane.role,
            y2 = TOP + rows * ROW_H
        );
    }
    let y_of = |row: usize| TOP + row * ROW_H + ROW_H / 2;
    // Fault spans.
    for span in &layout.spans {
        let x = lane_x(span.lane);
        let _ = writeln!(
            s,
            r##"<rect class="fault" x="{}" y="{}" width="28" height="{}" fill="#d62728" fill-opacity="0.15"><title>{}</title></rect>"##,
            x.saturating_sub(14),
            y_of(span.from),
            (span.to.saturating_sub(span.from)) * ROW_H + 1,
            esc(&span.what)
        );
    }
    // Arrows.
    let fade = |witness: bool| if layout.focused && !witness { r#" opacity="0.45""# } else { "" };
    for &(a, b, kind) in &layout.links {
        let (ia, ib) = (&layout.items[a], &layout.items[b]);
        let (colour, dash) = link_style(kind);
        let dash = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let (x1, y1, x2, y2) = (lane_x(ia.lane), y_of(a), lane_x(ib.lane), y_of(b));
        let _ = writeln!(
            s,
            r#"<line class="link {}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{}" stroke="{colour}" stroke-width="1.3"{dash} marker-end="url(#arr)"{}/>"#,
            kind.name(),
            y2.saturating_sub(if y2 > y1 { 4 } else { 0 }),
            fade(ia.witness && ib.witness)
        );
    }
    // Marks and labels.
    let mut last_time = String::new();
    for (row, item) in layout.items.iter().enumerate() {
        let r = &h.recs[item.rec];
        let (x, y) = (lane_x(item.lane), y_of(row));
        let time = ms(r.t);
        if time != last_time {
            let _ = writeln!(s, r##"<text x="8" y="{}" fill="#666">{time}</text>"##, y + 4);
            last_time = time;
        }
        let ring = if item.witness && layout.focused {
            r##" stroke="#d62728" stroke-width="3""##
        } else {
            r##" stroke="#ffffff" stroke-width="1""##
        };
        let shape = if r.ty == Ty::Commit {
            format!(r#"<rect x="{}" y="{}" width="9" height="9" transform="rotate(45 {x} {y})""#, x - 4, y - 4)
        } else if matches!(r.ty, Ty::Fail | Ty::Reject) {
            format!(r#"<rect x="{}" y="{}" width="9" height="9""#, x - 4, y - 4)
        } else {
            format!(r#"<circle cx="{x}" cy="{y}" r="5""#)
        };
        let _ = writeln!(
            s,
            r##"<g class="rec{}" data-line="{}"{}>{shape} fill="{}"{ring}/><text x="{}" y="{}" fill="#222">{}</text><title>line {}: {} ms {} {}</title></g>"##,
            if item.witness { " witness" } else { "" },
            r.line,
            fade(item.witness),
            colour(r.ty),
            x + 9,
            y + 4,
            esc(&item.label),
            r.line,
            ms(r.t),
            esc(&crate::trace::who(h, r)),
            esc(&item.words)
        );
    }
    let mut y = TOP + rows * ROW_H + 24;
    for line in &sentence_lines {
        let _ = writeln!(s, r##"<text x="8" y="{y}" fill="#222">{}</text>"##, esc(line));
        y += 16;
    }
    s.push_str("</svg>\n");
    s
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Splits text into lines of at most about `width` characters at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
