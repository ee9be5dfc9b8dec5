//! Named methods for the file (client) commands: thin wrappers over [`TrackerClient::request`].

use mogile_protocol::Command;
use mogile_protocol::{
    CreateClose, CreateOpen, Delete, FileDebug, FileInfo, GetPaths, ListFids, ListKeys, Noop,
    Rename, UpdateFileClass,
};

use crate::client::TrackerClient;
use crate::error::TrackerError;

impl TrackerClient {
    command_methods! {
        "create_open" create_open => CreateOpen;
        "create_close" create_close => CreateClose;
        "get_paths" get_paths => GetPaths;
        "delete" delete => Delete;
        "rename" rename => Rename;
        "updateclass" update_file_class => UpdateFileClass;
        "file_info" file_info => FileInfo;
        "file_debug" file_debug => FileDebug;
        "list_keys" list_keys => ListKeys;
        "list_fids" list_fids => ListFids;
        "noop" noop => Noop;
    }
}
