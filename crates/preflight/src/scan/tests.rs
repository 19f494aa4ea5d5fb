use super::*;

type Server = dyn Fn(&Probe) -> ObservedResponse;

const APP: &str = "https://app.example.test";
const URL: &str = "https://api.example.test/v1/me";

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn run(url: &str, opts: &ScanOptions, server: &Server) -> (Vec<Finding>, usize) {
    let mut plan = Plan::new(url, opts).unwrap();
    let mut observed = Vec::new();
    loop {
        let probes = plan.next_round(&observed);
        if probes.is_empty() {
            break;
        }
        for probe in probes {
            let response = server(&probe);
            observed.push(Observation { probe, response });
        }
    }
    (plan.judge(&observed), observed.len())
}

fn req<'a>(p: &'a Probe, name: &str) -> Option<&'a str> {
    p.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A server that accepts origins for which `ok` is true: echo, credentials, Vary.
fn echo(ok: impl Fn(&str) -> bool + 'static) -> Box<Server> {
    Box::new(move |p: &Probe| {
        if ok(&p.origin) {
            ObservedResponse {
                status: 200,
                headers: h(&[
                    ("access-control-allow-origin", &p.origin),
                    ("access-control-allow-credentials", "true"),
                    ("access-control-allow-methods", "GET, POST"),
                    ("vary", "Origin"),
                ]),
            }
        } else {
            ObservedResponse {
                status: if p.method == "OPTIONS" { 403 } else { 200 },
                headers: h(&[("vary", "Origin")]),
            }
        }
    })
}

fn classes(f: &[Finding]) -> Vec<(Class, Severity)> {
    f.iter().map(|f| (f.class, f.severity)).collect()
}

fn one(server: &Server) -> Vec<(Class, Severity)> {
    let (f, n) = run(URL, &ScanOptions::default(), server);
    assert!(n <= MAX_PROBES, "{n} probes");
    classes(&f)
}

#[test]
fn each_origin_class() {
    use Class::*;
    use Severity::*;
    let cases: Vec<(Box<Server>, Class, Severity)> = vec![
        (echo(|_| true), ReflectAnyOrigin, High),
        (echo(|o| o.starts_with(APP)), PrefixMatch, High),
        (echo(|o| o.ends_with("example.test")), SuffixMatch, High),
        (
            echo(|o| {
                o.len() == APP.len() && o.bytes().zip(APP.bytes()).all(|(a, b)| a == b || b == b'.')
            }),
            UnescapedDot,
            High,
        ),
        (echo(|o| APP.contains(o)), SubstringMatch, High),
        (
            echo(|o| {
                o.strip_prefix("https://").is_some_and(|rest| {
                    rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                        .next()
                        == Some("app.example.test")
                })
            }),
            SpecialCharBypass,
            Medium,
        ),
        (echo(|o| o == APP || o == "null"), NullOrigin, High),
        (
            echo(|o| o == APP || o == "http://app.example.test"),
            HttpsTrustsHttp,
            Medium,
        ),
        (
            echo(|o| o == APP || o.ends_with(".github.io")),
            ThirdPartyOrigin,
            High,
        ),
    ];
    for (server, class, sev) in cases {
        assert_eq!(one(&*server), vec![(class, sev)], "{class}");
    }
}

#[test]
fn credentials_decide_severity() {
    let server = |p: &Probe| ObservedResponse {
        status: 200,
        headers: h(&[
            ("Access-Control-Allow-Origin", &p.origin),
            ("Access-Control-Allow-Credentials", "TRUE"),
            ("Vary", "origin"),
        ]),
    };
    assert_eq!(
        one(&server),
        vec![(Class::ReflectAnyOrigin, Severity::Info)]
    );
    let server = |p: &Probe| ObservedResponse {
        status: 200,
        headers: h(&[("access-control-allow-origin", &p.origin), ("vary", "*")]),
    };
    assert_eq!(
        one(&server),
        vec![(Class::ReflectAnyOrigin, Severity::Info)]
    );
}

#[test]
fn correct_configurations_are_clean() {
    // Exact allowlist with Vary.
    assert!(one(&*echo(|o| o == APP)).is_empty());
    // Anchored subdomains of the target's own site.
    let anchored = echo(|o| {
        Origin::parse(o).is_ok_and(|o| {
            o.scheme() == Some("https") && o.host().is_some_and(|h| h.ends_with(".example.test"))
        })
    });
    assert!(one(&*anchored).is_empty());
    // Public `*`.
    let public = |_: &Probe| ObservedResponse {
        status: 200,
        headers: h(&[("access-control-allow-origin", "*")]),
    };
    assert!(one(&public).is_empty());
    // A fixed partner.
    let partner = |_: &Probe| ObservedResponse {
        status: 204,
        headers: h(&[
            ("access-control-allow-origin", "https://partner.test"),
            ("access-control-allow-credentials", "true"),
        ]),
    };
    assert!(one(&partner).is_empty());
}

#[test]
fn fixed_acao_is_mutated_and_subdomain_trust_is_cross_site() {
    let server = |p: &Probe| {
        let o = p.origin.as_str();
        let ok = Origin::parse(o).is_ok_and(|x| {
            x.scheme() == Some("https") && x.host().is_some_and(|h| h.ends_with(".partner.test"))
        });
        ObservedResponse {
            status: 200,
            headers: h(&[
                (
                    "access-control-allow-origin",
                    if ok { o } else { "https://app.partner.test" },
                ),
                ("access-control-allow-credentials", "true"),
                ("vary", "Origin"),
            ]),
        }
    };
    assert_eq!(
        one(&server),
        vec![(Class::SubdomainTrust, Severity::Medium)]
    );
}

#[test]
fn user_trusted_origin_is_mutated() {
    let server = echo(|o| o.starts_with("https://admin.corp.test"));
    let opts = ScanOptions {
        trusted_origins: vec!["https://admin.corp.test".parse().unwrap()],
        ..ScanOptions::default()
    };
    let (f, _) = run(URL, &opts, &*server);
    assert_eq!(classes(&f), vec![(Class::PrefixMatch, Severity::High)]);
    assert_eq!(
        f[0].origin,
        "https://admin.corp.test.preflight-scan.example"
    );
}

#[test]
fn wildcard_vary_and_preflights() {
    let wild = |_: &Probe| ObservedResponse {
        status: 200,
        headers: h(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
        ]),
    };
    assert_eq!(
        one(&wild),
        vec![(Class::WildcardWithCredentials, Severity::Low)]
    );
    let novary = |p: &Probe| ObservedResponse {
        status: 200,
        headers: if p.origin == APP {
            h(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
                ("cache-control", "public, max-age=600"),
            ])
        } else {
            h(&[("cache-control", "public, max-age=600")])
        },
    };
    assert_eq!(
        one(&novary),
        vec![(Class::MissingVaryOrigin, Severity::Medium)]
    );
    let preflight_any = |p: &Probe| {
        if p.method == "OPTIONS" {
            ObservedResponse {
                status: 204,
                headers: h(&[
                    ("access-control-allow-origin", &p.origin),
                    ("access-control-allow-credentials", "true"),
                    ("access-control-allow-methods", "GET, PUT"),
                ]),
            }
        } else {
            echo(|o| o == APP)(p)
        }
    };
    assert_eq!(
        one(&preflight_any),
        vec![(Class::PreflightReflectsAnyOrigin, Severity::High)]
    );
    let mirror = |p: &Probe| {
        if p.method == "OPTIONS" && p.origin == APP {
            let m = req(p, "access-control-request-method").unwrap_or("");
            let hd = req(p, "access-control-request-headers").unwrap_or("");
            ObservedResponse {
                status: 204,
                headers: h(&[
                    ("access-control-allow-origin", APP),
                    ("access-control-allow-credentials", "true"),
                    ("access-control-allow-methods", m),
                    ("access-control-allow-headers", hd),
                ]),
            }
        } else {
            echo(|o| o == APP)(p)
        }
    };
    assert_eq!(
        one(&mirror),
        vec![(Class::PreflightReflectsMethodsHeaders, Severity::Low)]
    );
    let pna = |p: &Probe| {
        if req(p, "access-control-request-private-network") == Some("true") {
            ObservedResponse {
                status: 204,
                headers: h(&[
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-private-network", "true"),
                ]),
            }
        } else {
            echo(|o| o == APP)(p)
        }
    };
    assert_eq!(one(&pna), vec![(Class::PnaAnyOrigin, Severity::Medium)]);
}

#[test]
fn failed_preflight_status_is_not_a_grant() {
    let s = |p: &Probe| ObservedResponse {
        status: if p.method == "OPTIONS" { 500 } else { 200 },
        headers: if p.method == "OPTIONS" {
            h(&[
                ("access-control-allow-origin", &p.origin),
                ("access-control-allow-credentials", "true"),
            ])
        } else {
            vec![]
        },
    };
    assert!(one(&s).is_empty());
}

#[test]
fn plan_is_deterministic_bounded_and_robust() {
    let opts = ScanOptions {
        trusted_origins: vec![
            "https://a.one.test".parse().unwrap(),
            "https://b.two.test:8443".parse().unwrap(),
            "http://[::1]:3000".parse().unwrap(),
            "http://10.0.0.1".parse().unwrap(),
            "https://c.three.test".parse().unwrap(),
        ],
        ..ScanOptions::default()
    };
    // Garbage answers: repeated, huge, non-ASCII-ish values.
    let garbage = |p: &Probe| ObservedResponse {
        status: 0,
        headers: h(&[
            ("access-control-allow-origin", "https://x.test"),
            ("access-control-allow-origin", &p.origin),
            ("access-control-allow-credentials", "true"),
            ("vary", "\u{fffd}\u{fffd}"),
            ("cache-control", "max-age=99999999999999999999999"),
            ("expires", ""),
        ]),
    };
    let a = run(URL, &opts, &garbage);
    let b = run(URL, &opts, &garbage);
    assert_eq!(a, b);
    assert!(a.1 <= MAX_PROBES);
    let fixed = |_: &Probe| ObservedResponse {
        status: 200,
        headers: h(&[("access-control-allow-origin", "https://partner.test")]),
    };
    let (_, n) = run(URL, &opts, &fixed);
    assert!(n <= MAX_PROBES, "{n}");
    // Plans for odd targets.
    for url in [
        "http://127.0.0.1:8080/",
        "http://[::1]/x",
        "https://localhost/",
        "https://intranet.corp/",
        "http://a.b.c.d.example.co.uk:81/p?q#f",
    ] {
        let (f, n) = run(url, &ScanOptions::default(), &garbage);
        assert!(n <= MAX_PROBES && f.len() <= Class::ALL.len(), "{url}");
    }
    assert!(Plan::new("ftp://x/", &ScanOptions::default()).is_err());
    assert!(Plan::new("not a url", &ScanOptions::default()).is_err());
}

#[test]
fn round_one_shape_and_siblings() {
    let mut plan = Plan::new(URL, &ScanOptions::default()).unwrap();
    let r1 = plan.next_round(&[]);
    let origins: Vec<&str> = r1.iter().map(|p| p.origin.as_str()).collect();
    assert!(origins.contains(&"https://app.example.test"));
    assert!(origins.contains(&"https://www.example.test"));
    assert!(origins.contains(&"http://api.example.test"));
    assert_eq!(r1.len(), 13);
    let pna = r1
        .iter()
        .find(|p| p.intent == Intent::PrivateNetwork)
        .unwrap();
    assert_eq!(pna.method, "OPTIONS");
    assert_eq!(
        req(pna, "access-control-request-private-network"),
        Some("true")
    );
    // Unknown suffix: the last label is the suffix.
    let o: Origin = "https://api.example.test".parse().unwrap();
    assert_eq!(o.registrable_domain(), Some("example.test"));
    let ids: Vec<&str> = Class::ALL.iter().map(|c| c.id()).collect();
    for c in Class::ALL {
        assert_eq!(Class::from_id(c.id()), Some(c));
    }
    assert_eq!(ids.len(), 15);
}

#[test]
fn policy_lines() {
    let toml =
        "# cors\norigins = [\"https://a.test\"]\ncredentials = true\n\nprivate_network = true\n";
    assert_eq!(policy_line(toml, Class::PrefixMatch), Some(2));
    assert_eq!(policy_line(toml, Class::WildcardWithCredentials), Some(3));
    assert_eq!(policy_line(toml, Class::PnaAnyOrigin), Some(5));
    assert_eq!(
        policy_line(toml, Class::PreflightReflectsMethodsHeaders),
        None
    );
    assert_eq!(policy_line("not = [toml", Class::PrefixMatch), None);
}
