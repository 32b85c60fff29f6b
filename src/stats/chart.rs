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

/// Vertical bars over time (a trend), labelled below with the value on top.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let (w, h, top, bottom) = (64i64, 220i64, 24i64, 36i64);
    let width = (bars.len() as i64 * w).max(w) + 16;
    let room = h - top - bottom;
    let heights = lengths(&bars.iter().map(|b| b.value).collect::<Vec<_>>(), room);
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
            rx = x + 8,
            bw = w - 16,
            cx = x + w / 2,
            ty = y - 4,
            ly = h - bottom + 16,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars (a breakdown), label on the left, value on the right.
pub fn rows(title: &str, bars: &[Bar]) -> String {
    let (row, label_w, bar_w, value_w) = (24i64, 160i64, 320i64, 120i64);
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
        let svg = columns("销售额", &[bar("2026Q1", 10), bar("<b>", 20)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("2026Q1") && svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let svg = rows("按地区", &[bar("盘石村", 3)]);
        assert!(svg.contains("盘石村") && svg.contains(r#"width="320""#));
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
}
