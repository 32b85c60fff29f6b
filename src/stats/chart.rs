//! Bar charts as inline SVG, drawn on the server so they read without JavaScript. Pure.

/// One bar: a label and a value (fen, or any count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    /// The value as people read it, e.g. `¥12.30`.
    pub shown: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bar lengths in pixels for values, scaled so the largest fills `room` (negatives count as 0).
pub fn lengths(values: &[i64], room: i64) -> Vec<i64> {
    let max = values.iter().copied().max().unwrap_or(0).max(0);
    values
        .iter()
        .map(|v| {
            if max == 0 {
                0
            } else {
                ((*v).max(0) as i128 * room as i128 / max as i128) as i64
            }
        })
        .collect()
}

/// Vertical bars over time (a trend), labelled below with the value on top; with `target`,
/// a dashed line across at the target's value, labelled with it.
pub fn columns(title: &str, bars: &[Bar], target: Option<&Bar>) -> String {
    let (w, h, top, bottom) = (52i64, 220i64, 24i64, 36i64);
    let width = (bars.len() as i64 * w).max(w) + 16;
    let room = h - top - bottom;
    let mut values: Vec<i64> = bars.iter().map(|b| b.value).collect();
    values.extend(target.map(|t| t.value));
    let mut heights = lengths(&values, room);
    let line = target.and_then(|_| heights.pop());
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {h}" width="{width}" height="{h}" class="chart"><title>{}</title>"#,
        escape(title)
    );
    for (i, (bar, bh)) in bars.iter().zip(heights).enumerate() {
        let x = 8 + i as i64 * w;
        let y = h - bottom - bh;
        svg.push_str(&format!(
            r##"<g><title>{label}: {shown}</title><rect x="{rx}" y="{y}" width="{bw}" height="{bh}" fill="#2f7d4f"/><text x="{cx}" y="{ty}" font-size="10" text-anchor="middle">{shown}</text><text x="{cx}" y="{ly}" font-size="11" text-anchor="middle">{label}</text></g>"##,
            label = escape(&bar.label),
            shown = escape(&bar.shown),
            rx = x + 6,
            bw = w - 12,
            cx = x + w / 2,
            ty = y - 4,
            ly = h - bottom + 16,
        ));
    }
    if let (Some(t), Some(th)) = (target, line) {
        let y = h - bottom - th;
        svg.push_str(&format!(
            r##"<g class="target"><title>{label}: {shown}</title><line x1="4" y1="{y}" x2="{x2}" y2="{y}" stroke="#c8553d" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{x2}" y="{ty}" font-size="10" text-anchor="end" fill="#9c3b27">{label} {shown}</text></g>"##,
            label = escape(&t.label),
            shown = escape(&t.shown),
            x2 = width - 4,
            ty = (y - 4).max(10),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A progress bar towards a target: the part reached (`reached_bp`, basis points of the
/// target, shown up to the whole) filled, a tick where the pace expected by today stands
/// (`pace_bp`), and the share reached as text. Green when on pace, amber when behind.
pub fn progress(title: &str, reached_bp: i64, pace_bp: Option<i64>, shown: &str) -> String {
    let (w, h, bar_h) = (320i64, 30i64, 12i64);
    let reached = reached_bp.clamp(0, 10_000);
    let fill = reached * w / 10_000;
    let behind = pace_bp.is_some_and(|p| reached < p.min(10_000));
    let colour = if behind { "#d08c1f" } else { "#2f7d4f" };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" class="chart progress"><title>{}: {}</title><rect x="0" y="4" width="{w}" height="{bar_h}" rx="6" fill="#e4ebe6"/><rect x="0" y="4" width="{fill}" height="{bar_h}" rx="6" fill="{colour}" data-bp="{reached}"/>"##,
        escape(title),
        escape(shown),
    );
    if let Some(p) = pace_bp {
        let x = p.clamp(0, 10_000) * w / 10_000;
        svg.push_str(&format!(
            r##"<line class="pace" x1="{x}" y1="1" x2="{x}" y2="{y2}" stroke="#333" stroke-width="2"/>"##,
            y2 = bar_h + 7,
        ));
    }
    svg.push_str(&format!(
        r#"<text x="0" y="{ty}" font-size="10">{}</text></svg>"#,
        escape(shown),
        ty = h - 2,
    ));
    svg
}

/// One child region on a tile map: where it lies, what it sold, and where its page is.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub label: String,
    /// The name written on the tile (the full `label` is its tooltip).
    pub short: String,
    pub value: i64,
    pub shown: String,
    /// Latitude and longitude of its seat, when the region table has them.
    pub at: Option<(f64, f64)>,
    pub href: Option<String>,
}

/// The five shades of a tile map, lightest (no sales) to darkest.
pub const SHADES: [&str; 5] = ["#eef3ef", "#c9dccf", "#93bfa0", "#5a9a6f", "#2f7d4f"];

/// The shade class (0–4) of each value: 0 for nothing sold, else 1–4 by its share of the
/// largest value.
pub fn shade_classes(values: &[i64]) -> Vec<usize> {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v <= 0 || max <= 0 {
                0
            } else {
                1 + ((v as i128 * 4 - 1) / max as i128).clamp(0, 3) as usize
            }
        })
        .collect()
}

/// Grid cells (column, row) for tiles at `points`, one tile per cell, each as near as may be
/// to where its place lies: west to the left, north at the top. Places without a position
/// take the free cells left over, in order.
pub fn tile_cells(points: &[Option<(f64, f64)>]) -> (usize, usize, Vec<(usize, usize)>) {
    let n = points.len();
    if n == 0 {
        return (0, 0, Vec::new());
    }
    let cols = ((n as f64 * 1.6).sqrt().ceil() as usize).max(1) + 1;
    let rows = n.div_ceil(cols) + 1;
    let known: Vec<(f64, f64)> = points.iter().flatten().copied().collect();
    let span = |f: fn(&(f64, f64)) -> f64| {
        let lo = known.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = known.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        (lo, (hi - lo).max(1e-9))
    };
    let (lat0, lat_span) = span(|p| p.0);
    let (lng0, lng_span) = span(|p| p.1);
    let mut taken = vec![false; cols * rows];
    let mut cells = vec![(0, 0); n];
    // The places furthest out first, so the edges keep their side of the map.
    let mut order: Vec<usize> = (0..n).collect();
    let wanted: Vec<Option<(f64, f64)>> = points
        .iter()
        .map(|p| {
            p.map(|(lat, lng)| {
                (
                    (lng - lng0) / lng_span * (cols - 1) as f64,
                    (1.0 - (lat - lat0) / lat_span) * (rows - 1) as f64,
                )
            })
        })
        .collect();
    let centre = ((cols - 1) as f64 / 2.0, (rows - 1) as f64 / 2.0);
    let far = |i: &usize| {
        wanted[*i].map_or(-1.0, |(x, y)| {
            (x - centre.0).powi(2) + (y - centre.1).powi(2)
        })
    };
    order.sort_by(|a, b| far(b).total_cmp(&far(a)).then(a.cmp(b)));
    for i in order {
        let (x, y) = wanted[i].unwrap_or(centre);
        let best = (0..cols * rows)
            .filter(|&c| !taken[c])
            .min_by(|&a, &b| {
                let d = |c: usize| {
                    let (cx, cy) = ((c % cols) as f64, (c / cols) as f64);
                    (cx - x).powi(2) + (cy - y).powi(2)
                };
                d(a).total_cmp(&d(b)).then(a.cmp(&b))
            })
            .expect("there are more cells than tiles");
        taken[best] = true;
        cells[i] = (best % cols, best / cols);
    }
    (cols, rows, cells)
}

/// A tile map (cartogram): each child region a square placed roughly where it lies, shaded
/// by its value, with its name and value, linked to its page; a legend below.
pub fn tiles(title: &str, tiles: &[Tile], legend: [&str; 2]) -> String {
    let (size, gap) = (84i64, 4i64);
    let (cols, _, cells) = tile_cells(&tiles.iter().map(|t| t.at).collect::<Vec<_>>());
    let used_rows = cells.iter().map(|c| c.1 + 1).max().unwrap_or(0) as i64;
    let first_row = cells.iter().map(|c| c.1).min().unwrap_or(0) as i64;
    let width = (cols as i64 * (size + gap)).max(size) + gap;
    let height = (used_rows - first_row).max(1) * (size + gap) + gap + 28;
    let classes = shade_classes(&tiles.iter().map(|t| t.value).collect::<Vec<_>>());
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart tiles"><title>{}</title>"#,
        escape(title)
    );
    for ((tile, (c, r)), class) in tiles.iter().zip(&cells).zip(&classes) {
        let x = gap + *c as i64 * (size + gap);
        let y = gap + (*r as i64 - first_row) * (size + gap);
        let ink = if *class >= 3 { "#fff" } else { "#1d2b22" };
        let name: String = tile.short.chars().take(12).collect();
        let body = format!(
            r##"<title>{label}: {shown}</title><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="6" fill="{fill}" stroke="#8aa895"/><text x="{cx}" y="{ny}" font-size="11" text-anchor="middle" fill="{ink}">{name}</text><text x="{cx}" y="{vy}" font-size="10" text-anchor="middle" fill="{ink}">{shown}</text>"##,
            label = escape(&tile.label),
            shown = escape(&tile.shown),
            fill = SHADES[*class],
            name = escape(&name),
            cx = x + size / 2,
            ny = y + size / 2 - 4,
            vy = y + size / 2 + 12,
        );
        match &tile.href {
            Some(href) => svg.push_str(&format!(
                r#"<a href="{}" class="tile shade-{class}">{body}</a>"#,
                escape(href)
            )),
            None => svg.push_str(&format!(r#"<g class="tile shade-{class}">{body}</g>"#)),
        }
    }
    let ly = height - 18;
    svg.push_str(&format!(
        r#"<text x="{gap}" y="{ty}" font-size="10">{}</text>"#,
        escape(legend[0]),
        ty = ly + 11,
    ));
    for (i, shade) in SHADES.iter().enumerate() {
        svg.push_str(&format!(
            r##"<rect x="{x}" y="{ly}" width="18" height="12" fill="{shade}" stroke="#8aa895"/>"##,
            x = 64 + i as i64 * 20,
        ));
    }
    svg.push_str(&format!(
        r#"<text x="{x}" y="{ty}" font-size="10">{}</text></svg>"#,
        escape(legend[1]),
        x = 64 + 5 * 20 + 4,
        ty = ly + 11,
    ));
    svg
}

/// Horizontal bars (a breakdown), label on the left, value on the right.
pub fn rows(title: &str, bars: &[Bar]) -> String {
    let (row, label_w, bar_w, value_w) = (24i64, 120i64, 240i64, 100i64);
    let width = label_w + bar_w + value_w;
    let height = (bars.len() as i64 * row).max(row) + 8;
    let widths = lengths(&bars.iter().map(|b| b.value).collect::<Vec<_>>(), bar_w);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart"><title>{}</title>"#,
        escape(title)
    );
    for (i, (bar, bw)) in bars.iter().zip(widths).enumerate() {
        let y = 4 + i as i64 * row;
        svg.push_str(&format!(
            r##"<g><text x="{lx}" y="{ty}" font-size="12" text-anchor="end">{label}</text><rect x="{label_w}" y="{ry}" width="{bw}" height="{rh}" fill="#c8553d"/><text x="{vx}" y="{ty}" font-size="12">{shown}</text></g>"##,
            label = escape(&bar.label),
            shown = escape(&bar.shown),
            lx = label_w - 6,
            ty = y + 16,
            ry = y + 4,
            rh = row - 8,
            vx = label_w + bw + 6,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// One slot of a band chart: a label and, when there is one, a low, middle and high value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub label: String,
    /// (low, middle, high), e.g. the quartiles of a week's prices.
    pub values: Option<(i64, i64, i64)>,
    /// The middle value as people read it, e.g. `¥5.20`.
    pub shown: String,
}

/// A trend of ranges over time: for each slot a bar from low to high and a dot at the middle,
/// the middles joined by a line; slots without values stay empty.
pub fn band(title: &str, slots: &[Slot]) -> String {
    let (w, h, top, bottom) = (28i64, 150i64, 12i64, 28i64);
    let width = (slots.len() as i64 * w).max(w) + 16;
    let room = h - top - bottom;
    let lo = slots
        .iter()
        .filter_map(|s| s.values.map(|v| v.0))
        .min()
        .unwrap_or(0);
    let hi = slots
        .iter()
        .filter_map(|s| s.values.map(|v| v.2))
        .max()
        .unwrap_or(0);
    let span = (hi - lo).max(1) as i128;
    let y = |v: i64| h - bottom - ((v - lo) as i128 * room as i128 / span) as i64;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {h}" width="{width}" height="{h}" class="chart"><title>{}</title>"#,
        escape(title)
    );
    let mut line = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        let cx = 8 + i as i64 * w + w / 2;
        if let Some((low, mid, high)) = slot.values {
            let (yl, ym, yh) = (y(low), y(mid), y(high));
            svg.push_str(&format!(
                r##"<g><title>{label}: {shown}</title><rect x="{rx}" y="{yh}" width="10" height="{bh}" fill="#c9dccf"/><circle cx="{cx}" cy="{ym}" r="3" fill="#2f7d4f"/></g>"##,
                label = escape(&slot.label),
                shown = escape(&slot.shown),
                rx = cx - 5,
                bh = (yl - yh).max(1),
            ));
            line.push(format!("{cx},{ym}"));
        }
        if i % 4 == 0 {
            svg.push_str(&format!(
                r#"<text x="{cx}" y="{ly}" font-size="10" text-anchor="middle">{}</text>"#,
                escape(&slot.label),
                ly = h - bottom + 14,
            ));
        }
    }
    if line.len() > 1 {
        svg.push_str(&format!(
            r##"<polyline points="{}" fill="none" stroke="#2f7d4f" stroke-width="1.5"/>"##,
            line.join(" ")
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: i64) -> Bar {
        Bar {
            label: label.into(),
            value,
            shown: value.to_string(),
        }
    }

    #[test]
    fn the_largest_bar_fills_the_room_and_the_rest_scale() {
        assert_eq!(lengths(&[50, 100, 0, -5], 200), vec![100, 200, 0, 0]);
        assert_eq!(lengths(&[0, 0], 200), vec![0, 0]);
        assert_eq!(lengths(&[], 200), Vec::<i64>::new());
    }

    #[test]
    fn charts_are_svg_with_every_label_escaped() {
        let svg = columns("销售额", &[bar("2026Q1", 10), bar("<b>", 20)], None);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("2026Q1") && svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let svg = rows("按地区", &[bar("盘石村", 3)]);
        assert!(svg.contains("盘石村") && svg.contains(r#"width="240""#));
    }

    #[test]
    fn a_band_draws_a_range_and_a_dot_for_each_slot_with_values() {
        let slot = |label: &str, values| Slot {
            label: label.into(),
            values,
            shown: "¥1.00".into(),
        };
        let svg = band(
            "大米 <斤>",
            &[
                slot("11-02", Some((100, 150, 200))),
                slot("11-09", None),
                slot("11-16", Some((120, 160, 300))),
            ],
        );
        assert!(svg.contains("&lt;斤&gt;") && !svg.contains("<斤>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches("<polyline").count(), 1);
        // The highest high sits at the top of the room, the lowest low at its bottom.
        assert!(svg.contains(r#"y="12""#) && svg.contains(r#"cy="95""#));
    }

    #[test]
    fn a_trend_draws_its_target_line_on_the_same_scale_as_its_bars() {
        let target = Bar {
            label: "目标".into(),
            value: 200,
            shown: "¥2.00".into(),
        };
        let svg = columns("趋势", &[bar("Q1", 100), bar("Q2", 400)], Some(&target));
        // Room 160 px above a base at y = 184: 400 fills it, the target of 200 sits halfway.
        assert!(svg.contains(r#"y="24" width="40" height="160""#), "{svg}");
        assert!(
            svg.contains(r#"y1="104""#) && svg.contains("目标 ¥2.00"),
            "{svg}"
        );
        let svg = columns("趋势", &[bar("Q1", 100)], Some(&target));
        assert!(
            svg.contains(r#"y1="24""#),
            "a target above every bar sets the scale"
        );
        assert!(!columns("趋势", &[bar("Q1", 100)], None).contains("<line"));
    }

    #[test]
    fn progress_is_capped_and_marks_the_pace_it_lags() {
        let behind = progress("销售额", 2_500, Some(5_000), "25.00%");
        assert!(
            behind.contains(r##"width="80" height="12" rx="6" fill="#d08c1f" data-bp="2500""##)
        );
        assert!(behind.contains(r#"class="pace" x1="160""#));
        let ahead = progress("销售额", 7_500, Some(5_000), "75.00%");
        assert!(ahead.contains(r##"fill="#2f7d4f" data-bp="7500""##));
        let over = progress("销售额", 13_000, Some(5_000), "130.00%");
        assert!(
            over.contains(r##"width="320" height="12" rx="6" fill="#2f7d4f" data-bp="10000""##)
        );
    }

    #[test]
    fn shades_rise_with_the_value_and_nothing_sold_stays_blank() {
        assert_eq!(
            shade_classes(&[0, 1, 25, 26, 50, 75, 100]),
            vec![0, 1, 1, 2, 2, 3, 4]
        );
        assert_eq!(shade_classes(&[0, 0]), vec![0, 0]);
        assert_eq!(shade_classes(&[-3, 7]), vec![0, 4]);
    }

    #[test]
    fn tiles_keep_west_east_and_north_south_and_never_share_a_cell() {
        // A loose grid of places with a few exactly on top of each other and one unknown.
        let mut points = Vec::new();
        for i in 0..23 {
            let lat = 30.0 + (i % 5) as f64 * 0.4;
            let lng = 104.0 + (i / 5) as f64 * 0.5;
            points.push(Some((lat, lng)));
        }
        points.push(Some((30.0, 104.0)));
        points.push(None);
        let (cols, rows, cells) = tile_cells(&points);
        assert_eq!(cells.len(), points.len());
        let mut seen = std::collections::HashSet::new();
        for &(c, r) in &cells {
            assert!(c < cols && r < rows);
            assert!(seen.insert((c, r)), "two tiles in cell {c},{r}");
        }
        let (west, east) = (cells[0], cells[20]);
        assert!(west.0 < east.0, "{west:?} {east:?}");
        let (south, north) = (cells[0], cells[4]);
        assert!(north.1 < south.1, "{north:?} {south:?}");
        assert_eq!(tile_cells(&[]).2, Vec::new());
        let tile = |label: &str, value| Tile {
            label: label.into(),
            short: label.into(),
            value,
            shown: value.to_string(),
            at: None,
            href: Some(format!("/r/{label}")),
        };
        let svg = tiles("地图", &[tile("甲", 0), tile("乙<", 8)], ["少", "多"]);
        assert_eq!(svg.matches("<a href=").count(), 2);
        assert!(svg.contains(r#"class="tile shade-4""#) && svg.contains(r#"class="tile shade-0""#));
        assert!(svg.contains("乙&lt;") && !svg.contains("乙<"));
    }
}
