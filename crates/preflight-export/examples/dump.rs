//! Prints the nginx and Envoy exports of a policy file.
fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    match preflight::Policy::from_toml(&text) {
        Ok(p) => {
            let which = std::env::args().nth(2).unwrap_or_default();
            let e = if which == "envoy" {
                preflight_export::to_envoy(&p)
            } else {
                preflight_export::to_nginx(&p)
            };
            print!("{}", e.config);
        }
        Err(e) => eprintln!("{e}"),
    }
}
