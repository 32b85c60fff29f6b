//! A drawing for each category, made here as SVG: what a listing without a photo shows on its
//! card and page. Each drawing is a few shapes on a coloured ground, 320 × 240, well under a
//! kilobyte or two. Pure.

/// The ground and the shapes of one drawing.
struct Drawing {
    ground: (&'static str, &'static str),
    shapes: &'static str,
}

/// The drawing of the category with `slug`, else of its parent `parent`, else a basket.
fn drawing(slug: &str, parent: Option<&str>) -> Drawing {
    own(slug).unwrap_or_else(|| family(parent.unwrap_or(slug)))
}

/// The drawing made for the category `slug` itself, if there is one.
fn own(slug: &str) -> Option<Drawing> {
    match slug {
        "rice" => Some(Drawing {
            ground: ("#f4ecd2", "#e3d3a2"),
            shapes: r##"<ellipse cx="160" cy="170" rx="92" ry="30" fill="#8a5a2b"/><path d="M68 170a92 60 0 0 0 184 0z" fill="#a8703a"/><g fill="#fffdf4" stroke="#d8cfb0"><ellipse cx="120" cy="160" rx="14" ry="7"/><ellipse cx="150" cy="150" rx="14" ry="7"/><ellipse cx="180" cy="158" rx="14" ry="7"/><ellipse cx="205" cy="165" rx="14" ry="7"/><ellipse cx="140" cy="166" rx="14" ry="7"/><ellipse cx="170" cy="140" rx="14" ry="7"/></g><path d="M150 60q10 40 0 80M170 52q-4 44 6 86" stroke="#b08a2e" stroke-width="4" fill="none"/>"##,
        }),
        "corn" => Some(Drawing {
            ground: ("#fbf1cc", "#f0d77f"),
            shapes: r##"<path d="M110 200q-30-80 20-150q10 70 0 150z" fill="#6e9a3a"/><path d="M210 200q30-80-20-150q-10 70 0 150z" fill="#5b8a2e"/><ellipse cx="160" cy="120" rx="38" ry="82" fill="#f2c230"/><g fill="#e0a91c"><circle cx="146" cy="80" r="6"/><circle cx="174" cy="80" r="6"/><circle cx="146" cy="110" r="6"/><circle cx="174" cy="110" r="6"/><circle cx="146" cy="140" r="6"/><circle cx="174" cy="140" r="6"/><circle cx="160" cy="95" r="6"/><circle cx="160" cy="125" r="6"/><circle cx="160" cy="155" r="6"/></g>"##,
        }),
        "highland-barley" => Some(Drawing {
            ground: ("#eef0d8", "#cfd59a"),
            shapes: r##"<path d="M160 220V70M130 220q10-70 0-120M190 220q-10-70 0-120" stroke="#8c7a2e" stroke-width="4" fill="none"/><g fill="#c9a437"><ellipse cx="160" cy="62" rx="8" ry="14"/><ellipse cx="150" cy="84" rx="8" ry="14"/><ellipse cx="170" cy="84" rx="8" ry="14"/><ellipse cx="130" cy="92" rx="7" ry="12"/><ellipse cx="190" cy="92" rx="7" ry="12"/><ellipse cx="150" cy="106" rx="8" ry="14"/><ellipse cx="170" cy="106" rx="8" ry="14"/></g>"##,
        }),
        "potato" => Some(Drawing {
            ground: ("#efe6d6", "#d9c6a4"),
            shapes: r##"<ellipse cx="130" cy="140" rx="70" ry="50" fill="#c8955a"/><ellipse cx="210" cy="160" rx="50" ry="36" fill="#b5834b"/><g fill="#8e6233"><circle cx="110" cy="125" r="4"/><circle cx="150" cy="150" r="4"/><circle cx="125" cy="165" r="3"/><circle cx="215" cy="150" r="3"/><circle cx="200" cy="172" r="4"/></g>"##,
        }),
        "sweet-potato" => Some(Drawing {
            ground: ("#f6e4e0", "#e3b7ad"),
            shapes: r##"<path d="M60 150q40-70 130-50t80 40q-40 60-130 50t-80-40z" fill="#a33d4c"/><path d="M70 150q-20 10-40 6" stroke="#7a2a36" stroke-width="4" fill="none"/><path d="M120 130q20-6 40 0M150 160q20 4 40-2" stroke="#c25a68" stroke-width="4" fill="none"/>"##,
        }),
        "chili" => Some(Drawing {
            ground: ("#fbe7df", "#f0b9a3"),
            shapes: r##"<path d="M120 70q-30 60 10 120q30 40 60 20q-40-40-40-130z" fill="#d3271c"/><path d="M180 80q-10 70 30 110q20 20 40 0q-40-40-50-110z" fill="#b81f16"/><path d="M120 70q6-20 24-22M180 80q4-18 20-20" stroke="#3f7d2c" stroke-width="8" fill="none" stroke-linecap="round"/>"##,
        }),
        "apple" => Some(Drawing {
            ground: ("#fbe9e4", "#f4c4b8"),
            shapes: r##"<path d="M160 84c-30-20-92-10-92 56c0 60 50 92 92 76c42 16 92-16 92-76c0-66-62-76-92-56z" fill="#d1352b"/><path d="M160 84c2-22 8-36 20-46" stroke="#5b3a1e" stroke-width="6" fill="none" stroke-linecap="round"/><path d="M170 60c20-24 52-20 60-10c-20 18-44 20-60 10z" fill="#4f8f35"/><ellipse cx="118" cy="120" rx="14" ry="22" fill="#ef7d6f" opacity=".7"/>"##,
        }),
        "kiwi" => Some(Drawing {
            ground: ("#eef5e2", "#cfe3ad"),
            shapes: r##"<circle cx="160" cy="125" r="82" fill="#7a5a34"/><circle cx="160" cy="125" r="72" fill="#8cc63f"/><circle cx="160" cy="125" r="22" fill="#f4f1d0"/><g fill="#2b2b1b"><circle cx="160" cy="88" r="3"/><circle cx="188" cy="100" r="3"/><circle cx="196" cy="128" r="3"/><circle cx="184" cy="154" r="3"/><circle cx="158" cy="164" r="3"/><circle cx="132" cy="152" r="3"/><circle cx="124" cy="124" r="3"/><circle cx="134" cy="98" r="3"/></g>"##,
        }),
        "yak-meat" => Some(Drawing {
            ground: ("#f3e3e1", "#d9aaa6"),
            shapes: r##"<path d="M70 120q10-50 90-50t90 50q-10 70-90 70t-90-70z" fill="#9b2d2a"/><path d="M100 110q40 20 60 0t60 10M110 150q40-10 90 10" stroke="#f2d6cf" stroke-width="6" fill="none"/><path d="M60 60q-10-30 20-40M260 60q10-30-20-40" stroke="#3b2a20" stroke-width="8" fill="none" stroke-linecap="round"/>"##,
        }),
        "tibetan-pig" => Some(Drawing {
            ground: ("#f7e6ea", "#e9bcc6"),
            shapes: r##"<ellipse cx="160" cy="135" rx="90" ry="62" fill="#3a2f33"/><ellipse cx="228" cy="128" rx="30" ry="24" fill="#4a3d42"/><ellipse cx="250" cy="130" rx="12" ry="10" fill="#c98b97"/><path d="M100 190v22M130 194v20M190 194v20M220 190v22" stroke="#3a2f33" stroke-width="12" stroke-linecap="round"/><circle cx="224" cy="116" r="4" fill="#fff"/>"##,
        }),
        "cordyceps" => Some(Drawing {
            ground: ("#f3ecdf", "#dccaa8"),
            shapes: r##"<g stroke-linecap="round"><path d="M100 190q20-60 30-130" stroke="#5a3c22" stroke-width="6" fill="none"/><path d="M80 200q10-30 26-40" stroke="#c7923f" stroke-width="18" fill="none"/><path d="M170 190q10-60 10-130" stroke="#5a3c22" stroke-width="6" fill="none"/><path d="M150 204q10-34 26-44" stroke="#c7923f" stroke-width="18" fill="none"/><path d="M240 190q0-60-14-120" stroke="#5a3c22" stroke-width="6" fill="none"/><path d="M220 204q10-34 22-44" stroke="#c7923f" stroke-width="18" fill="none"/></g>"##,
        }),
        "fritillaria" => Some(Drawing {
            ground: ("#eef1ec", "#cdd8cc"),
            shapes: r##"<g fill="#fbfaf3" stroke="#c9c7b4" stroke-width="2"><path d="M110 170a28 28 0 0 1 0-56a20 28 0 0 1 0 56z"/><path d="M160 160a30 30 0 0 1 0-60a22 30 0 0 1 0 60z"/><path d="M212 172a26 26 0 0 1 0-52a18 26 0 0 1 0 52z"/></g><path d="M160 100q-4-30 10-50" stroke="#6c9a4a" stroke-width="4" fill="none"/>"##,
        }),
        "saffron" => Some(Drawing {
            ground: ("#efe7f4", "#cdb8de"),
            shapes: r##"<g fill="#8e5fb5"><ellipse cx="160" cy="90" rx="22" ry="50" transform="rotate(-30 160 130)"/><ellipse cx="160" cy="90" rx="22" ry="50" transform="rotate(30 160 130)"/><ellipse cx="160" cy="86" rx="22" ry="50"/></g><path d="M160 130l-14-50M160 130l0-56M160 130l14-50" stroke="#d6321f" stroke-width="5" stroke-linecap="round"/><path d="M160 130v80" stroke="#4d7d32" stroke-width="6"/>"##,
        }),
        "matsutake" => Some(Drawing {
            ground: ("#f1ebe1", "#d9c8aa"),
            shapes: r##"<path d="M140 200q-6-50 4-90h34q10 40 4 90z" fill="#efe6d3" stroke="#cdb996" stroke-width="2"/><path d="M96 116q10-60 65-62q55 2 65 62z" fill="#8a5b34"/><path d="M110 104q20-8 30 0M170 90q16-6 30 4" stroke="#6b4322" stroke-width="4" fill="none"/>"##,
        }),
        "vinegar" => Some(Drawing {
            ground: ("#efe6dc", "#d3bfa6"),
            shapes: r##"<path d="M140 40h40v30q30 20 30 60v80h-100v-80q0-40 30-60z" fill="#3d2416"/><rect x="138" y="30" width="44" height="18" rx="4" fill="#b2361f"/><rect x="118" y="130" width="84" height="56" rx="6" fill="#f4e7c9"/><path d="M140 158h40" stroke="#b2361f" stroke-width="6"/>"##,
        }),
        "beef-jerky" => Some(Drawing {
            ground: ("#f3e5dc", "#dcb49e"),
            shapes: r##"<g fill="#6b2c1a"><path d="M70 90l150-20q14 4 6 18l-150 22q-14-4-6-20z"/><path d="M90 140l150-20q14 4 6 18l-150 22q-14-4-6-20z"/><path d="M80 186l150-20q14 4 6 18l-150 22q-14-4-6-20z"/></g><path d="M100 92l100-14M120 142l100-14" stroke="#8d4128" stroke-width="3"/>"##,
        }),
        "bean-curd-sticks" => Some(Drawing {
            ground: ("#fbf3dc", "#efd89c"),
            shapes: r##"<g stroke="#d8a93a" stroke-width="14" stroke-linecap="round"><path d="M80 70l160 100"/><path d="M80 100l160 80"/><path d="M80 130l160 60"/><path d="M90 160l150 40"/></g><rect x="140" y="110" width="40" height="60" rx="6" fill="#b2361f" transform="rotate(30 160 140)"/>"##,
        }),
        "bamboo-weaving" => Some(Drawing {
            ground: ("#eef2e2", "#cfd9ac"),
            shapes: r##"<path d="M70 100h180l-20 100h-140z" fill="#d8b36a"/><g stroke="#a9823d" stroke-width="4"><path d="M80 125h160M86 150h148M92 175h136"/><path d="M110 100l8 100M150 100l2 100M190 100l-4 100M230 100l-12 100"/></g><path d="M90 100q70-80 140 0" stroke="#a9823d" stroke-width="8" fill="none"/>"##,
        }),
        "thangka" => Some(Drawing {
            ground: ("#f6e9d9", "#e2c29a"),
            shapes: r##"<rect x="80" y="30" width="160" height="180" fill="#8f2a1d"/><rect x="96" y="46" width="128" height="148" fill="#f2c14e"/><circle cx="160" cy="112" r="44" fill="#1f5f8b"/><circle cx="160" cy="112" r="28" fill="#f7e7c0"/><circle cx="160" cy="112" r="10" fill="#c0392b"/><path d="M70 30h180M70 210h180" stroke="#3b2a20" stroke-width="8"/>"##,
        }),
        "wooden-bowl" => Some(Drawing {
            ground: ("#f1e6d8", "#d7bb94"),
            shapes: r##"<path d="M70 110h180q-10 90-90 90t-90-90z" fill="#8a4b22"/><ellipse cx="160" cy="110" rx="90" ry="18" fill="#5e2f14"/><path d="M90 140q70 20 140 0" stroke="#d4a24c" stroke-width="6" fill="none"/><path d="M100 160q60 16 120 0" stroke="#c0392b" stroke-width="4" fill="none"/>"##,
        }),
        _ => None,
    }
}

/// The drawing of a family of categories (a top-level category), or a basket.
fn family(slug: &str) -> Drawing {
    match slug {
        "grain" => drawing("rice", None),
        "vegetables" => Drawing {
            ground: ("#e9f3e1", "#c3dfaa"),
            shapes: r##"<circle cx="160" cy="130" r="70" fill="#6fae45"/><circle cx="140" cy="120" r="44" fill="#8cc45a"/><circle cx="186" cy="136" r="40" fill="#7cb84f"/><path d="M160 200v-60M160 150q-20-20-40-24M160 160q20-20 44-22" stroke="#e8f3d8" stroke-width="4" fill="none"/>"##,
        },
        "fruit" => drawing("apple", None),
        "livestock" => drawing("yak-meat", None),
        "herbs" => Drawing {
            ground: ("#e8f1e6", "#bcd6b6"),
            shapes: r##"<path d="M160 210v-150" stroke="#3f7d2c" stroke-width="6"/><g fill="#5d9c45"><ellipse cx="130" cy="90" rx="30" ry="12" transform="rotate(-30 130 90)"/><ellipse cx="190" cy="110" rx="30" ry="12" transform="rotate(30 190 110)"/><ellipse cx="130" cy="140" rx="30" ry="12" transform="rotate(-30 130 140)"/><ellipse cx="190" cy="160" rx="30" ry="12" transform="rotate(30 190 160)"/></g>"##,
        },
        "fungi" => drawing("matsutake", None),
        "processed" => Drawing {
            ground: ("#f3ebdc", "#dccaa3"),
            shapes: r##"<rect x="110" y="70" width="100" height="130" rx="16" fill="#d69a2d"/><rect x="104" y="54" width="112" height="24" rx="6" fill="#8a5b2e"/><rect x="124" y="110" width="72" height="50" rx="6" fill="#fbf3dc"/>"##,
        },
        _ => drawing("bamboo-weaving", None),
    }
}

/// The SVG of the drawing for a category (`slug`, with its parent's slug when it has one).
pub fn svg(slug: &str, parent: Option<&str>, title: &str) -> String {
    let d = drawing(slug, parent);
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 240" width="320" height="240" role="img"><title>{title}</title><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{}"/><stop offset="1" stop-color="{}"/></linearGradient></defs><rect width="320" height="240" fill="url(#g)"/>{}</svg>"##,
        d.ground.0, d.ground.1, d.shapes
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLUGS: [&str; 21] = [
        "rice",
        "corn",
        "highland-barley",
        "potato",
        "sweet-potato",
        "chili",
        "apple",
        "kiwi",
        "yak-meat",
        "tibetan-pig",
        "cordyceps",
        "fritillaria",
        "saffron",
        "matsutake",
        "vinegar",
        "beef-jerky",
        "bean-curd-sticks",
        "bamboo-weaving",
        "thangka",
        "wooden-bowl",
        "vegetables",
    ];

    #[test]
    fn every_drawing_is_small_well_formed_svg_and_its_own() {
        let mut seen = std::collections::HashSet::new();
        for slug in SLUGS {
            let s = svg(slug, None, "<名>");
            assert!(s.starts_with("<svg") && s.ends_with("</svg>"), "{slug}");
            assert!(s.len() < 2_500, "{slug}: {} bytes", s.len());
            assert!(s.contains("<title>&lt;名&gt;</title>"));
            // Each tag opened is closed: as many `<x` as `</x>` or `/>`.
            let opened = s.matches('<').count();
            let closed = s.matches("</").count() * 2 + s.matches("/>").count();
            assert_eq!(opened, closed, "{slug}: {s}");
            assert!(
                seen.insert(drawing(slug, None).shapes),
                "{slug} repeats another"
            );
        }
    }

    #[test]
    fn a_category_without_its_own_drawing_takes_its_parent_s() {
        assert_eq!(
            drawing("honey", Some("processed")).shapes,
            drawing("processed", None).shapes
        );
        assert_eq!(
            drawing("peach", Some("fruit")).shapes,
            drawing("apple", None).shapes
        );
        assert_eq!(
            drawing("nothing-known", None).shapes,
            drawing("bamboo-weaving", None).shapes
        );
    }
}
