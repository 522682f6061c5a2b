//! Tags at run time: parsing, typed errors, index arithmetic.

mod common;

use common::{all_http, Http, Method, Status};
use metrics_runtime::{ParseTagError, Tag, TagSet, TagSetError};

#[test]
fn tag_values_and_names() {
    assert_eq!(Method::NAME, "method");
    assert_eq!(Method::VALUES, &["GET", "POST", "PUT", "DELETE"]);
    assert_eq!(Status::NAME, "status");
    assert_eq!(Status::VALUES, &["2xx", "4xx", "5xx"]);
    assert_eq!(Status::ClientError.as_str(), "4xx");
    assert_eq!(Http::NAMES, &["method", "status"]);
    assert_eq!(Http::CARDINALITY, 12);
}

#[test]
fn from_str_parses_or_names_the_allowed_values() {
    assert_eq!("DELETE".parse::<Method>(), Ok(Method::Delete));
    assert_eq!("5xx".parse::<Status>(), Ok(Status::ServerError));
    let err: ParseTagError = "get".parse::<Method>().unwrap_err();
    assert_eq!(err.tag(), "method");
    assert_eq!(err.value(), "get");
    assert_eq!(err.allowed(), &["GET", "POST", "PUT", "DELETE"]);
    assert_eq!(err.to_string(), "`get` is not a value of tag `method`; expected one of `GET`, `POST`, `PUT`, `DELETE`");
}

#[test]
fn index_is_a_bijection() {
    let all = all_http();
    for (i, tags) in all.iter().enumerate() {
        assert_eq!(tags.index(), i);
        assert_eq!(Http::from_index(i), Some(*tags));
    }
    assert_eq!(Http::from_index(12), None);
    assert_eq!(Http::label_value(5, 0), "POST");
    assert_eq!(Http::label_value(5, 1), "5xx");
}

#[test]
fn from_pairs_accepts_any_order() {
    let a = Http::from_pairs(&[("method", "PUT"), ("status", "4xx")]).unwrap();
    let b = Http::from_pairs(&[("status", "4xx"), ("method", "PUT")]).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, Http { method: Method::Put, status: Status::ClientError });
    assert_eq!(Method::from_pairs(&[("method", "GET")]), Ok(Method::Get));
    assert_eq!(<() as TagSet>::from_pairs(&[]), Ok(()));
}

#[test]
fn from_pairs_typed_errors() {
    assert_eq!(Http::from_pairs(&[("method", "GET")]), Err(TagSetError::MissingTag { name: "status" }));
    assert_eq!(
        Http::from_pairs(&[("method", "GET"), ("status", "2xx"), ("method", "PUT")]),
        Err(TagSetError::RepeatedTag { name: "method" })
    );
    let unknown = Http::from_pairs(&[("verb", "GET")]).unwrap_err();
    assert_eq!(unknown, TagSetError::UnknownTag { name: "verb".into(), allowed: &["method", "status"] });
    assert_eq!(unknown.to_string(), "unknown tag `verb`; expected one of `method`, `status`");
    let bad = Http::from_pairs(&[("method", "GET"), ("status", "3xx")]).unwrap_err();
    match &bad {
        TagSetError::InvalidValue(e) => assert_eq!(e.allowed(), &["2xx", "4xx", "5xx"]),
        other => panic!("unexpected {other:?}"),
    }
    assert!(std::error::Error::source(&bad).is_some());
    assert!(matches!(<() as TagSet>::from_pairs(&[("x", "y")]), Err(TagSetError::UnknownTag { .. })));
}

/// Variants named like the items the derive generates (`Err`, `Ok`, `None`) still work.
#[test]
fn variants_named_like_std_items() {
    #[derive(metrics_runtime::Tag, Clone, Copy, Debug, PartialEq, Eq)]
    enum Res {
        Ok,
        Err,
        None,
    }
    assert_eq!("err".parse::<Res>(), Result::Ok(Res::Err));
    assert_eq!(<Res as Tag>::VALUES, &["ok", "err", "none"]);
    assert_eq!(Res::from_pairs(&[("res", "none")]), Result::Ok(Res::None));
}
