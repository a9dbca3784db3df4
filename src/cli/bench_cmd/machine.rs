//! Which machine a bench ran on. Speeds on shared machines move from day to
//! day, and a machine kind is not always the same processor: the figures
//! only compare with others taken on the same one, so they carry its name.

/// The processor's name, family and model, clock and logical CPUs, as the
/// kernel reports them (`/proc/cpuinfo`, Linux only), e.g.
/// `AMD EPYC (family 25, model 1), 2445 MHz, 2 logical CPUs`.
pub fn describe() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let processor = describe_cpuinfo(&info)?;
    Some(match std::thread::available_parallelism() {
        Ok(cpus) => format!("{processor}, {cpus} logical CPUs"),
        Err(_) => processor,
    })
}

/// The first processor's description in a `/proc/cpuinfo` text.
fn describe_cpuinfo(info: &str) -> Option<String> {
    let first = info.split("\n\n").next()?;
    let field = |name: &str| {
        first.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    let name = field("model name")?;
    let kind = match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!(" (family {family}, model {model})"),
        _ => String::new(),
    };
    let clock = field("cpu MHz")
        .and_then(|mhz| mhz.parse::<f64>().ok())
        .map_or(String::new(), |mhz| format!(", {mhz:.0} MHz"));
    Some(format!("{name}{kind}{clock}"))
}

#[cfg(test)]
mod tests {
    use super::describe_cpuinfo;

    #[test]
    fn names_the_first_processor_with_its_family_model_and_clock() {
        // Proves the description comes from the first processor's fields,
        // and that a text without a model name gives none.
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\
                    model name\t: AMD EPYC\ncpu MHz\t\t: 2445.412\n\n\
                    processor\t: 1\ncpu family\t: 6\nmodel\t\t: 143\nmodel name\t: Other\n";
        assert_eq!(
            describe_cpuinfo(info).as_deref(),
            Some("AMD EPYC (family 25, model 1), 2445 MHz")
        );
        assert_eq!(
            describe_cpuinfo("processor\t: 0\nmodel name\t: Bare\n").as_deref(),
            Some("Bare")
        );
        assert_eq!(describe_cpuinfo("processor\t: 0\n"), None);
    }
}
