//! The subcommands, each a thin layer over the `mogilefs` facade: build the client from the
//! settings, call the facade, render the answer, and map its error to an exit status.

mod admin;
mod files;
mod list;
mod transfer;

use mogilefs::{Client, StorageConfig, TrackerConfig};

use crate::cli::{Command, Global};
use crate::config::Settings;
use crate::exit::{Failure, Kind};
use crate::key_text;
use crate::output::Out;

/// What every subcommand needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The facade client.
    pub(crate) client: Client,
    /// The resolved settings.
    pub(crate) settings: Settings,
    /// `--quiet`.
    pub(crate) quiet: bool,
    /// Stdout.
    pub(crate) out: Out,
}

/// The facade's builder insists on a domain even for `admin` commands, which never send it; this
/// stands in when none is configured (it never reaches the wire).
const ADMIN_ONLY_DOMAIN: &str = "mogile-cli-admin";

/// Runs one subcommand.
pub(crate) async fn run(
    command: Command,
    global: &Global,
    settings: Settings,
) -> Result<(), Failure> {
    let command = match command {
        // Sync names its domains, and maybe its trackers, in SRC and DST: no shared client.
        Command::Sync(args) => {
            let mut out = Out::new(global.json);
            let result = crate::sync::sync(args, &settings, global.quiet, &mut out).await;
            return result.and(out.flush());
        }
        other => other,
    };
    let is_admin = matches!(command, Command::Admin { .. });
    let domain = match settings.domain() {
        Ok(d) => d.to_string(),
        Err(_) if is_admin => ADMIN_ONLY_DOMAIN.to_string(),
        Err(e) => return Err(e),
    };
    let client = build_client(&settings, domain)?;
    let mut ctx = Ctx {
        client: client.clone(),
        settings,
        quiet: global.quiet,
        out: Out::new(global.json),
    };
    let result = match command {
        Command::Put {
            key,
            file,
            recursive: true,
            class,
            ..
        } => {
            let prefix = key_text::arg_bytes(file.as_os_str());
            let (settings, quiet) = (&ctx.settings, ctx.quiet);
            crate::sync::put_recursive(&key, &prefix, class, settings, quiet, &mut ctx.out).await
        }
        Command::Put {
            key,
            file,
            class,
            checksum,
            ..
        } => transfer::put(&mut ctx, key_text::arg_bytes(&key), &file, class, checksum).await,
        Command::Get {
            key,
            file: Some(dir),
            recursive: true,
            ..
        } => {
            let (settings, quiet) = (&ctx.settings, ctx.quiet);
            crate::sync::get_recursive(
                &key_text::arg_bytes(&key),
                &dir,
                settings,
                quiet,
                &mut ctx.out,
            )
            .await
        }
        Command::Sync(args) => {
            // Handled above; the same call, should it ever come here.
            let (settings, quiet) = (&ctx.settings, ctx.quiet);
            crate::sync::sync(args, settings, quiet, &mut ctx.out).await
        }
        Command::Get {
            key,
            file,
            verify,
            range,
            streams,
            ..
        } => {
            transfer::get(
                &mut ctx,
                key_text::arg_bytes(&key),
                file.as_deref(),
                verify,
                range,
                streams,
            )
            .await
        }
        Command::Rm { key } => files::rm(&mut ctx, key_text::arg_bytes(&key)).await,
        Command::Mv { old, new } => {
            files::mv(
                &mut ctx,
                key_text::arg_bytes(&old),
                key_text::arg_bytes(&new),
            )
            .await
        }
        Command::Ls {
            prefix,
            long,
            null,
            page_size,
        } => {
            let prefix = prefix
                .as_deref()
                .map(key_text::arg_bytes)
                .unwrap_or_default();
            list::ls(&mut ctx, prefix, long, null, page_size).await
        }
        Command::Info { key } => files::info(&mut ctx, key_text::arg_bytes(&key)).await,
        Command::Debug { key } => files::debug(&mut ctx, key_text::arg_bytes(&key)).await,
        Command::Paths {
            key,
            noverify,
            pathcount,
        } => files::paths(&mut ctx, key_text::arg_bytes(&key), noverify, pathcount).await,
        Command::Admin { command } => admin::run(&mut ctx, command).await,
        Command::Completions { shell } => completions(shell),
    };
    let flushed = ctx.out.flush();
    client.close().await;
    result.and(flushed)
}

/// `mogile completions SHELL`: the completion script, generated from the command line's
/// definition, on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    use clap::CommandFactory;
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut crate::cli::Cli::command(),
        "mogile",
        &mut script,
    );
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::stdout(&e))
}

/// Builds the facade client from the settings (see [`configs`]).
pub(crate) fn build_client(settings: &Settings, domain: String) -> Result<Client, Failure> {
    let (tracker, storage) = configs(settings);
    client_with(settings, domain, tracker, storage)
}

/// [`build_client`] with a tracker pool of `pool_size` connections (`sync`, which asks for sizes
/// many at a time).
pub(crate) fn build_client_with_pool(
    settings: &Settings,
    domain: String,
    pool_size: usize,
) -> Result<Client, Failure> {
    let (mut tracker, storage) = configs(settings);
    tracker.pool.max_size = pool_size;
    client_with(settings, domain, tracker, storage)
}

/// The tracker and storage settings of the client: `--timeout` bounds every tracker command
/// (file and admin), opening a tracker connection, and each step of a storage transfer
/// (connecting, a stall, the wait for the response headers).
pub(crate) fn configs(settings: &Settings) -> (TrackerConfig, StorageConfig) {
    let mut tracker = TrackerConfig::default();
    let mut storage = StorageConfig::default();
    if let Some(t) = settings.timeout {
        tracker.pool.connect_timeout = t;
        tracker.file_timeout = t;
        tracker.admin_timeout = t;
        storage.connect_timeout = t;
        storage.idle_timeout = t;
        storage.headers_timeout = t;
    }
    (tracker, storage)
}

/// A facade client for the settings' trackers with these configurations.
pub(crate) fn client_with(
    settings: &Settings,
    domain: String,
    tracker: TrackerConfig,
    storage: StorageConfig,
) -> Result<Client, Failure> {
    Client::builder()
        .trackers(settings.trackers.iter().cloned())
        .domain(domain)
        .tracker(tracker)
        .storage(storage)
        .build()
        .map_err(|e| Failure::from_error(Kind::Usage, "bad settings", &e))
}

/// The failure of `what`: exit status 3 for a missing key when `key_command` (the commands whose
/// argument is a key), else 1.
pub(crate) fn op_failure(what: &str, err: &mogilefs::Error, key_command: bool) -> Failure {
    let kind = if key_command && err.is_not_found() {
        Kind::NotFound
    } else {
        Kind::Failed
    };
    Failure::from_error(kind, what, err)
}
