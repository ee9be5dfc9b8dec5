//! The one place where [`mogilefs::Error`] becomes [`object_store::Error`].

use object_store::Error as OsError;

/// The `store` name in [`object_store::Error::Generic`].
pub(crate) const STORE: &str = "MogileFS";

/// Maps a facade error about `path`, keeping it as the source wherever the variant has one.
pub(crate) fn map(err: mogilefs::Error, path: &str) -> OsError {
    match err {
        mogilefs::Error::NotFound { .. } => OsError::NotFound {
            path: path.to_owned(),
            source: Box::new(err),
        },
        mogilefs::Error::AlreadyExists { .. } => OsError::AlreadyExists {
            path: path.to_owned(),
            source: Box::new(err),
        },
        mogilefs::Error::Unsupported { .. } => OsError::NotSupported {
            source: Box::new(err),
        },
        other => generic(other),
    }
}

/// Any error as [`object_store::Error::Generic`].
pub(crate) fn generic(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> OsError {
    OsError::Generic {
        store: STORE,
        source: err.into(),
    }
}

/// What MogileFS cannot do at all.
pub(crate) fn not_implemented(operation: &str) -> OsError {
    OsError::NotImplemented {
        operation: operation.to_owned(),
        implementer: "MogileStore".to_owned(),
    }
}

/// A request the trait allows but MogileFS cannot answer (date preconditions, versions).
pub(crate) fn not_supported(what: &str) -> OsError {
    OsError::NotSupported {
        source: what.to_owned().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mogilefs::lower::tracker::TrackerError;

    /// The tracker's answer behind a semantic facade error.
    fn answer(code: &str) -> Box<TrackerError> {
        Box::new(TrackerError::Server {
            tracker: "127.0.0.1:7001".into(),
            code: mogilefs::ErrorCode::from(code),
            message: code.to_owned(),
        })
    }

    #[test]
    fn facade_errors_map_to_their_object_store_variants_with_the_source_kept() {
        let e = map(
            mogilefs::Error::NotFound {
                key: "k".into(),
                source: answer("unknown_key"),
            },
            "k",
        );
        assert!(matches!(&e, OsError::NotFound { path, .. } if path == "k"));
        let src = std::error::Error::source(&e).unwrap();
        assert!(
            src.downcast_ref::<mogilefs::Error>()
                .unwrap()
                .is_not_found()
        );

        let e = map(
            mogilefs::Error::AlreadyExists {
                name: "k".into(),
                source: answer("key_exists"),
            },
            "k",
        );
        assert!(matches!(e, OsError::AlreadyExists { .. }));

        let e = map(mogilefs::Error::Closed, "k");
        let OsError::Generic { store, source } = e else {
            panic!("not generic")
        };
        assert_eq!(store, STORE);
        assert!(matches!(
            source.downcast_ref::<mogilefs::Error>(),
            Some(mogilefs::Error::Closed)
        ));

        assert!(matches!(
            not_implemented("put_opts Update"),
            OsError::NotImplemented { .. }
        ));
        assert!(matches!(not_supported("x"), OsError::NotSupported { .. }));
    }
}
