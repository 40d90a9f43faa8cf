//! Sets of allowed connections: for each protocol, a normalized list of port ranges.
//!
//! Invariant: ranges are sorted, disjoint and non-adjacent, within 1-65535, so equality of two
//! sets is equality of their values and printing is deterministic.

use std::fmt;

use crate::policy::Protocol;

pub const MIN_PORT: u16 = 1;
pub const MAX_PORT: u16 = 65535;

/// Allowed (protocol, port) pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnSet {
    ranges: [Vec<(u16, u16)>; 3],
}

impl ConnSet {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn all() -> Self {
        let full = vec![(MIN_PORT, MAX_PORT)];
        ConnSet {
            ranges: [full.clone(), full.clone(), full],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.iter().all(Vec::is_empty)
    }

    pub fn is_all(&self) -> bool {
        self.ranges.iter().all(|r| r.as_slice() == [(MIN_PORT, MAX_PORT)])
    }

    pub fn ranges(&self, proto: Protocol) -> &[(u16, u16)] {
        &self.ranges[proto.index()]
    }

    /// Adds `lo..=hi` for a protocol (ports outside 1-65535 are clamped).
    pub fn add(&mut self, proto: Protocol, lo: u16, hi: u16) {
        let (lo, hi) = (lo.max(MIN_PORT), hi);
        if lo > hi {
            return;
        }
        let v = &mut self.ranges[proto.index()];
        v.push((lo, hi));
        normalize(v);
    }

    pub fn add_protocol(&mut self, proto: Protocol) {
        self.ranges[proto.index()] = vec![(MIN_PORT, MAX_PORT)];
    }

    pub fn union_with(&mut self, other: &ConnSet) {
        for (mine, theirs) in self.ranges.iter_mut().zip(&other.ranges) {
            if theirs.is_empty() {
                continue;
            }
            mine.extend_from_slice(theirs);
            normalize(mine);
        }
    }

    pub fn intersect(&self, other: &ConnSet) -> ConnSet {
        let mut out = ConnSet::none();
        for i in 0..3 {
            let (a, b) = (&self.ranges[i], &other.ranges[i]);
            let (mut x, mut y) = (0, 0);
            while x < a.len() && y < b.len() {
                let lo = a[x].0.max(b[y].0);
                let hi = a[x].1.min(b[y].1);
                if lo <= hi {
                    out.ranges[i].push((lo, hi));
                }
                if a[x].1 < b[y].1 {
                    x += 1;
                } else {
                    y += 1;
                }
            }
        }
        out
    }

    /// The connections of `self` that are not in `other`.
    pub fn subtract(&self, other: &ConnSet) -> ConnSet {
        let mut out = ConnSet::none();
        for i in 0..3 {
            let holes = &other.ranges[i];
            for &(lo, hi) in &self.ranges[i] {
                // `next`: the first port of (lo, hi) not yet handled; u32 so that 65535 + 1 fits.
                let mut next = u32::from(lo);
                for &(hs, he) in holes {
                    if u32::from(he) < next || u32::from(hs) > u32::from(hi) {
                        continue;
                    }
                    if u32::from(hs) > next {
                        out.ranges[i].push((next as u16, hs - 1));
                    }
                    next = u32::from(he) + 1;
                }
                if next <= u32::from(hi) {
                    out.ranges[i].push((next as u16, hi));
                }
            }
        }
        out
    }

    /// The connections of one protocol: one port, or every port when `port` is `None`.
    pub fn single(proto: Protocol, port: Option<u16>) -> ConnSet {
        let mut c = ConnSet::none();
        match port {
            Some(p) => c.add(proto, p, p),
            None => c.add_protocol(proto),
        }
        c
    }

    pub fn contains(&self, proto: Protocol, port: u16) -> bool {
        self.ranges[proto.index()]
            .iter()
            .any(|&(lo, hi)| lo <= port && port <= hi)
    }

    /// True when any port of the protocol is allowed.
    pub fn has_protocol(&self, proto: Protocol) -> bool {
        !self.ranges[proto.index()].is_empty()
    }
}

fn normalize(v: &mut Vec<(u16, u16)>) {
    v.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *v = out;
}

impl fmt::Display for ConnSet {
    /// `All Connections`, `No Connections`, or `SCTP 9003,TCP 80,8000-8100,UDP 53`: protocols in
    /// alphabetical order, as the netpol-analyzer connlist format prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut parts = Vec::new();
        for proto in [Protocol::Sctp, Protocol::Tcp, Protocol::Udp] {
            let r = &self.ranges[proto.index()];
            if r.is_empty() {
                continue;
            }
            let ports: Vec<String> = r
                .iter()
                .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
                .collect();
            parts.push(format!("{proto} {}", ports.join(",")));
        }
        f.write_str(&parts.join(","))
    }
}

impl ConnSet {
    /// Reads back what [`Display`](fmt::Display) writes (the connlist format): `All Connections`,
    /// `No Connections`, or `SCTP 9003,TCP 80,8000-8100,UDP 53`; `None` for anything else.
    pub fn parse_connlist(s: &str) -> Option<ConnSet> {
        match s {
            "All Connections" => return Some(ConnSet::all()),
            "No Connections" => return Some(ConnSet::none()),
            _ => {}
        }
        let mut c = ConnSet::none();
        let mut proto = None;
        for part in s.split(',') {
            let ports = match part.split_once(' ') {
                Some((p, ports)) => {
                    proto = Some(Protocol::parse(p)?);
                    ports
                }
                None => part,
            };
            let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
            c.add(proto?, lo.parse().ok()?, hi.parse().ok()?);
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every set the map writes reads back as itself (the diff of two states reads the map's
    /// text back into sets).
    #[test]
    fn connlist_text_reads_back() {
        let mut c = ConnSet::none();
        c.add(Protocol::Tcp, 8080, 8080);
        c.add(Protocol::Tcp, 80, 90);
        c.add(Protocol::Udp, 53, 53);
        c.add(Protocol::Sctp, 9003, 9003);
        let mut all_tcp = ConnSet::none();
        all_tcp.add_protocol(Protocol::Tcp);
        for set in [
            c,
            all_tcp,
            ConnSet::all(),
            ConnSet::none(),
            ConnSet::single(Protocol::Udp, Some(1)),
        ] {
            assert_eq!(ConnSet::parse_connlist(&set.to_string()), Some(set.clone()), "{set}");
        }
        for bad in ["", "TCP", "ICMP 1", "TCP 80,x", "80", "TCP 90-80x"] {
            assert_eq!(ConnSet::parse_connlist(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ranges_merge_and_print_in_connlist_order() {
        let mut c = ConnSet::none();
        c.add(Protocol::Tcp, 8080, 8080);
        c.add(Protocol::Tcp, 80, 80);
        c.add(Protocol::Tcp, 81, 90);
        c.add(Protocol::Udp, 53, 53);
        c.add(Protocol::Sctp, 9003, 9003);
        assert_eq!(c.to_string(), "SCTP 9003,TCP 80-90,8080,UDP 53");
    }

    #[test]
    fn all_connections_means_every_port_of_every_protocol() {
        let mut c = ConnSet::none();
        c.add_protocol(Protocol::Tcp);
        c.add_protocol(Protocol::Udp);
        assert_eq!(c.to_string(), "TCP 1-65535,UDP 1-65535");
        c.add_protocol(Protocol::Sctp);
        assert!(c.is_all());
        assert_eq!(c.to_string(), "All Connections");
    }

    #[test]
    fn subtraction_of_ranges() {
        let mut a = ConnSet::none();
        a.add(Protocol::Tcp, 1, 100);
        a.add(Protocol::Udp, 53, 53);
        let mut b = ConnSet::none();
        b.add(Protocol::Tcp, 1, 10);
        b.add(Protocol::Tcp, 50, 60);
        b.add(Protocol::Tcp, 100, 200);
        assert_eq!(a.subtract(&b).to_string(), "TCP 11-49,61-99,UDP 53");
        assert!(a.subtract(&ConnSet::all()).is_empty());
        assert_eq!(a.subtract(&ConnSet::none()), a);
        let mut top = ConnSet::none();
        top.add(Protocol::Sctp, 65535, 65535);
        assert_eq!(
            ConnSet::all().subtract(&top).to_string(),
            "SCTP 1-65534,TCP 1-65535,UDP 1-65535"
        );
        assert_eq!(ConnSet::all().subtract(&ConnSet::all().subtract(&top)), top);
    }

    #[test]
    fn intersection_of_ranges() {
        let mut a = ConnSet::none();
        a.add(Protocol::Tcp, 1, 100);
        a.add(Protocol::Udp, 53, 53);
        let mut b = ConnSet::none();
        b.add(Protocol::Tcp, 50, 60);
        b.add(Protocol::Tcp, 90, 200);
        assert_eq!(a.intersect(&b).to_string(), "TCP 50-60,90-100");
        assert!(a.intersect(&ConnSet::none()).is_empty());
        assert_eq!(ConnSet::all().intersect(&a), a);
    }
}
