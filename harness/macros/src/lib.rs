//! `#[leakproof::tokio::test]`: the test attribute of `leakproof::tokio`.
//!
//! It turns `async fn name() { body }` into a `#[test] fn name()` that runs the body as a
//! `leakproof::check::Check` under every checker, the body made afresh for each execution
//! (tokio's own attribute hands one pinned future to `block_on`, which cannot run twice).
//! Written on `proc_macro` alone, without dependencies, to keep builds light.
//!
//! The expansion names the `tokio` module of the leakproof library by a path: the one given
//! as `crate = "path::to::tokio"` (as tokio's own attribute takes the path of the tokio
//! crate), or else `::NAME::tokio`, where NAME is the name under which the calling package's
//! `Cargo.toml` depends on the package `leakproof` (`leakproof = { … }`, or
//! `harness = { package = "leakproof", … }` for this workspace's own crates), found when the
//! macro expands, as the proc-macro-crate crate finds it (see [`manifest`]).

mod manifest;

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn` test under every checker; see `leakproof::tokio::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args, item) {
        Ok(ts) => ts,
        Err((span, msg)) => compile_error(span, &msg),
    }
}

/// `select!`'s helper: the pattern without `mut` and `ref`, so that it can be matched
/// against a reference to a branch's output (to learn whether it matches) without moving
/// anything out of it. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn clean_pattern(input: TokenStream) -> TokenStream {
    clean(input)
}

fn clean(input: TokenStream) -> TokenStream {
    input
        .into_iter()
        .filter_map(|t| match t {
            TokenTree::Ident(id) if id.to_string() == "mut" || id.to_string() == "ref" => None,
            TokenTree::Group(g) => {
                let mut out = Group::new(g.delimiter(), clean(g.stream()));
                out.set_span(g.span());
                Some(TokenTree::Group(out))
            }
            t => Some(t),
        })
        .collect()
}

type Error = (Span, String);

/// The arguments tokio's attribute takes; accepted and without effect on the checking.
const TOKIO_ARGS: &[&str] = &[
    "flavor",
    "worker_threads",
    "start_paused",
    "unhandled_panic",
];

/// The arguments the attribute reads.
struct Args {
    /// `check = path::to::fn`.
    check: Option<Vec<TokenTree>>,
    /// `crate = "path::to::tokio"`: the path of leakproof's `tokio` module.
    krate: Option<TokenStream>,
}

fn expand(args: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let Args { check, krate } = parse_args(args)?;
    let tokio_path: TokenStream = match krate {
        Some(path) => path,
        None => parse(&format!(
            "::{}::tokio",
            manifest::library_name().map_err(|e| (Span::call_site(), e))?
        )),
    };
    // `PATH::__private::ITEM`, for the expansion.
    let private = |item: &str| -> TokenStream {
        let mut ts = tokio_path.clone();
        ts.extend(parse(&format!("::__private::{item}")));
        ts
    };
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    // Outer attributes and visibility stay; `async` goes; then `fn name() (-> T)? { body }`.
    let mut i = 0;
    let mut head = Vec::new();
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(id) if id.to_string() == "async" => break,
            TokenTree::Ident(id) if id.to_string() == "fn" => {
                return Err((id.span(), "the test must be an `async fn`".into()));
            }
            t => head.push(t.clone()),
        }
        i += 1;
    }
    if i == tokens.len() {
        return Err((Span::call_site(), "expected an `async fn`".into()));
    }
    i += 1; // async
    match tokens.get(i) {
        Some(TokenTree::Ident(id)) if id.to_string() == "fn" => i += 1,
        Some(t) => return Err((t.span(), "expected `fn` after `async`".into())),
        None => return Err((Span::call_site(), "expected `fn` after `async`".into())),
    }
    let name = match tokens.get(i) {
        Some(TokenTree::Ident(id)) => id.clone(),
        _ => {
            return Err((
                Span::call_site(),
                "expected the test function's name".into(),
            ))
        }
    };
    i += 1;
    match tokens.get(i) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            if !g.stream().is_empty() {
                return Err((g.span(), "a test function takes no arguments".into()));
            }
            i += 1;
        }
        Some(t) => {
            return Err((
                t.span(),
                "generic test functions are not supported; expected `()`".into(),
            ))
        }
        None => return Err((name.span(), "expected `()`".into())),
    }
    let Some(TokenTree::Group(body)) = tokens.last() else {
        return Err((name.span(), "expected the function's body".into()));
    };
    if body.delimiter() != Delimiter::Brace {
        return Err((body.span(), "expected the function's body".into()));
    }
    // Anything between `()` and the body: `-> Type` (a `where` clause makes no sense here).
    let ret: Vec<TokenTree> = tokens[i..tokens.len() - 1].to_vec();
    let ret_ty: TokenStream = match ret.split_first() {
        None => "()".parse().unwrap(),
        Some((TokenTree::Punct(p), rest)) if p.as_char() == '-' => match rest.split_first() {
            Some((TokenTree::Punct(q), ty)) if q.as_char() == '>' => ty.iter().cloned().collect(),
            _ => return Err((p.span(), "expected `->` and the return type".into())),
        },
        Some((t, _)) => return Err((t.span(), "expected `->` or the body".into())),
    };

    // fn name() { PATH::__private::run_test("name", CHECK, || async move {
    //     let __r: RET = async move BODY.await; PATH::__private::TestReturn::finish(__r) }) }
    let mut inner = TokenStream::new();
    inner.extend(parse("let __leakproof_result:"));
    inner.extend(ret_ty);
    inner.extend(parse("= async move"));
    inner.extend([TokenTree::Group(body.clone())]);
    inner.extend(parse(".await;"));
    inner.extend(private("TestReturn::finish"));
    inner.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        parse("__leakproof_result"),
    ))]);
    let mut call_args = TokenStream::new();
    call_args.extend([TokenTree::Literal(Literal::string(&name.to_string()))]);
    call_args.extend(parse(","));
    match check {
        Some(path) => {
            call_args.extend(parse("::core::option::Option::Some"));
            call_args.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, {
                let mut p = TokenStream::new();
                p.extend(path);
                p.extend(parse("as fn(&str) ->"));
                p.extend(private("Check"));
                p
            }))]);
        }
        None => call_args.extend(parse("::core::option::Option::None")),
    }
    call_args.extend(parse(", || async move"));
    call_args.extend([TokenTree::Group(Group::new(Delimiter::Brace, inner))]);
    let mut fn_body = TokenStream::new();
    fn_body.extend(private("run_test"));
    fn_body.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        call_args,
    ))]);
    fn_body.extend([TokenTree::Punct(Punct::new(';', Spacing::Alone))]);

    let mut out = TokenStream::new();
    out.extend(parse("#[::core::prelude::v1::test]"));
    out.extend(head);
    out.extend([
        TokenTree::Ident(Ident::new("fn", Span::call_site())),
        TokenTree::Ident(name),
        TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new())),
        TokenTree::Group(Group::new(Delimiter::Brace, fn_body)),
    ]);
    Ok(out)
}

/// Parses `key = value` arguments.
fn parse_args(args: TokenStream) -> Result<Args, Error> {
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut check = None;
    let mut krate = None;
    for arg in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        if arg.is_empty() {
            continue;
        }
        let (TokenTree::Ident(key), rest) = (&arg[0], &arg[1..]) else {
            return Err((arg[0].span(), "expected `name = value`".into()));
        };
        let value = match rest.split_first() {
            Some((TokenTree::Punct(p), v)) if p.as_char() == '=' && !v.is_empty() => v,
            _ => return Err((key.span(), format!("expected `{key} = value`"))),
        };
        let k = key.to_string();
        if k == "check" {
            check = Some(value.to_vec());
        } else if k == "crate" {
            krate = Some(crate_path(value)?);
        } else if !TOKIO_ARGS.contains(&k.as_str()) {
            return Err((
                key.span(),
                format!(
                    "unknown argument `{k}`: expected one of tokio's ({}), `crate = \"path::to::tokio\"` or `check = path::to::fn`",
                    TOKIO_ARGS.join(", ")
                ),
            ));
        }
    }
    Ok(Args { check, krate })
}

/// The path in `crate = "path"`: a string literal holding a path.
fn crate_path(value: &[TokenTree]) -> Result<TokenStream, Error> {
    let bad = |span| {
        Err((
            span,
            "expected `crate = \"path::to::tokio\"`: the path of leakproof's `tokio` module as a string"
                .to_string(),
        ))
    };
    let [TokenTree::Literal(lit)] = value else {
        return bad(value[0].span());
    };
    let text = lit.to_string();
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return bad(lit.span());
    };
    match inner.parse::<TokenStream>() {
        Ok(ts) if !ts.is_empty() => Ok(ts),
        _ => bad(lit.span()),
    }
}

fn parse(s: &str) -> TokenStream {
    s.parse().expect("the macro's own tokens parse")
}

fn compile_error(span: Span, msg: &str) -> TokenStream {
    let mut ts: TokenStream = parse("::core::compile_error!");
    let mut lit = Literal::string(msg);
    lit.set_span(span);
    let mut group = Group::new(
        Delimiter::Parenthesis,
        TokenStream::from(TokenTree::Literal(lit)),
    );
    group.set_span(span);
    ts.extend([
        TokenTree::Group(group),
        TokenTree::Punct(Punct::new(';', Spacing::Alone)),
    ]);
    ts
}
