//! Places on the map and the distances between them.

/// Earth's mean radius in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// A place on the map, with its unit vector precomputed for fast distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
    pub(crate) xyz: [f64; 3],
}

impl Point {
    /// A point from degrees of latitude and longitude.
    pub fn new(lat: f64, lng: f64) -> Self {
        let (la, lo) = (lat.to_radians(), lng.to_radians());
        Point {
            lat,
            lng,
            xyz: [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()],
        }
    }

    /// Straight-line distance in whole metres (the chord through the earth: within 0.03%
    /// of the distance along the surface at the few hundred kilometres that matter here).
    pub fn distance_m(&self, other: &Point) -> i64 {
        metres(self.chord2(&other.xyz))
    }

    /// The squared chord to the point with unit vector `xyz`, on the unit sphere.
    pub(crate) fn chord2(&self, xyz: &[f64; 3]) -> f64 {
        let d = [
            self.xyz[0] - xyz[0],
            self.xyz[1] - xyz[1],
            self.xyz[2] - xyz[2],
        ];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    }
}

/// Whole metres of a squared chord on the unit sphere, to the nearest.
pub fn metres(chord2: f64) -> i64 {
    (chord2.sqrt() * EARTH_RADIUS_M + 0.5) as i64
}
