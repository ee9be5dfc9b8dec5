//! Configuration files and the environment: flags beat env, env beats files; `--conf`, then
//! `$MOGUTILSCONF`, then `~/.mogilefs.conf` (HOME is a temporary directory here).

mod common;

use common::{DOMAIN, Env, assert_code, text, write_conf};

#[test]
fn home_file_alone_is_enough() {
    let env = Env::start();
    env.put("c/k", b"1");
    write_conf(
        &env.home.path().join(".mogilefs.conf"),
        &format!(
            "# the Perl tools' format\ntrackers = {}\ndomain = {DOMAIN}\n",
            env.trackers
        ),
    );
    assert_eq!(
        text(&env.bare().arg("ls").output().unwrap().stdout),
        "c/k\n"
    );
}

#[test]
fn precedence() {
    let env = Env::start();
    env.put("c/k", b"1");
    let bad_domain = "no_such_domain";
    let home_conf = env.home.path().join(".mogilefs.conf");
    let env_conf = env.home.path().join("env.conf");
    let flag_conf = env.home.path().join("flag.conf");

    // ~/.mogilefs.conf names a domain that does not exist, MOGUTILSCONF the real one.
    write_conf(
        &home_conf,
        &format!("trackers = {}\ndomain = {bad_domain}\n", env.trackers),
    );
    assert_code(&env.bare().arg("ls").output().unwrap(), 1);
    write_conf(&env_conf, &format!("domain = {DOMAIN}\n"));
    let out = env
        .bare()
        .env("MOGUTILSCONF", &env_conf)
        .arg("ls")
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "c/k\n",
        "MOGUTILSCONF beats ~/.mogilefs.conf"
    );

    // --conf beats MOGUTILSCONF.
    write_conf(&flag_conf, &format!("domain = {bad_domain}\n"));
    let out = env
        .bare()
        .env("MOGUTILSCONF", &env_conf)
        .args(["--conf".as_ref(), flag_conf.as_os_str(), "ls".as_ref()])
        .output()
        .unwrap();
    assert_code(&out, 1);

    // MOGILE_DOMAIN beats every file; --domain beats MOGILE_DOMAIN.
    let out = env
        .bare()
        .env("MOGILE_DOMAIN", DOMAIN)
        .args(["--conf".as_ref(), flag_conf.as_os_str(), "ls".as_ref()])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "c/k\n", "env beats files");
    let out = env
        .bare()
        .env("MOGILE_DOMAIN", bad_domain)
        .args(["ls", "--domain", DOMAIN])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "c/k\n", "flags beat env");

    // Trackers: a dead tracker in the file is overridden by MOGILE_TRACKERS, then by --trackers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = listener.local_addr().unwrap().to_string();
    drop(listener);
    write_conf(
        &home_conf,
        &format!("trackers = {dead}\ndomain = {DOMAIN}\n"),
    );
    assert_code(
        &env.bare().args(["ls", "--timeout", "5"]).output().unwrap(),
        1,
    );
    let out = env
        .bare()
        .env("MOGILE_TRACKERS", &env.trackers)
        .arg("ls")
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "c/k\n");
    let out = env
        .bare()
        .env("MOGILE_TRACKERS", &dead)
        .args(["ls", "--timeout", "5", "--trackers", &env.trackers])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "c/k\n");
}

#[test]
fn class_comes_from_the_file_unless_given() {
    let env = Env::start();
    write_conf(&env.home.path().join(".mogilefs.conf"), "class = c2\n");
    env.put("c/classy", b"x");
    let info: serde_json::Value =
        serde_json::from_str(&text(&env.ok(["info", "c/classy", "--json"]))).unwrap();
    assert_eq!(info["class"], "c2");
    let src = env.home.path().join("f");
    std::fs::write(&src, b"y").unwrap();
    env.ok([
        "put".as_ref(),
        "c/plain".as_ref(),
        src.as_os_str(),
        "--class".as_ref(),
        "default".as_ref(),
    ]);
    let info: serde_json::Value =
        serde_json::from_str(&text(&env.ok(["info", "c/plain", "--json"]))).unwrap();
    assert_eq!(info["class"], "default");
}
