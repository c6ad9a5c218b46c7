//! Scalar functions, with SQLite's behaviour noted per function.

use crate::value::{Value, format_real};
use llkv_sql::{SqlError, SqlResult};
use std::cmp::Ordering;

/// Whether `name` (lower-case) is an aggregate function name.
pub fn is_aggregate(name: &str, nargs: usize) -> bool {
    match name {
        "count" | "sum" | "total" | "avg" | "group_concat" | "string_agg" => true,
        // min/max with one argument aggregate; with more they are scalar.
        "min" | "max" => nargs == 1,
        _ => false,
    }
}

/// Whether a scalar function of this name exists (checked at bind time).
pub fn is_scalar(name: &str) -> bool {
    matches!(
        name,
        "abs"
            | "coalesce"
            | "ifnull"
            | "nullif"
            | "iif"
            | "if"
            | "length"
            | "substr"
            | "substring"
            | "upper"
            | "lower"
            | "trim"
            | "ltrim"
            | "rtrim"
            | "replace"
            | "instr"
            | "round"
            | "typeof"
            | "min"
            | "max"
            | "hex"
            | "sign"
            | "struct_pack"
            | "struct_extract"
    )
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

fn need(name: &str, args: &[Value], min: usize, max: usize) -> SqlResult<()> {
    if args.len() < min || args.len() > max {
        return Err(SqlError::plan(format!("wrong number of arguments to function {name}()")));
    }
    Ok(())
}

/// Calls the scalar function `name` on evaluated arguments.
///
/// # Errors
/// A planning error for an unknown function or a wrong argument count.
pub fn call_function(name: &str, args: Vec<Value>) -> SqlResult<Value> {
    Ok(match name {
        // struct_pack('k1', v1, 'k2', v2, …): a `{'k1': v1, …}` literal (see
        // crate::structs); struct_extract(s, 'k'): `s.k`.
        "struct_pack" => {
            let fields: Vec<(String, Value)> = args
                .chunks(2)
                .map(|kv| match kv {
                    [k, v] => Ok((k.to_text().unwrap_or_default(), v.clone())),
                    _ => Err(SqlError::plan("struct_pack takes name, value pairs")),
                })
                .collect::<SqlResult<_>>()?;
            Value::Text(crate::structs::pack(&fields))
        }
        "struct_extract" => {
            need(name, &args, 2, 2)?;
            let field = arg(&args, 1).to_text().unwrap_or_default();
            crate::structs::extract(arg(&args, 0), &field)?
        }
        // abs(NULL) is NULL; abs of text reads it as a number.
        "abs" => {
            need(name, &args, 1, 1)?;
            match arg(&args, 0).to_numeric() {
                Value::Int(i) => i.checked_abs().map_or(Value::Real((i as f64).abs()), Value::Int),
                Value::Real(r) => Value::Real(r.abs()),
                _ => Value::Null,
            }
        }
        "sign" => {
            need(name, &args, 1, 1)?;
            match arg(&args, 0).to_numeric() {
                Value::Int(i) => Value::Int(i.signum()),
                Value::Real(r) => Value::Int(if r > 0.0 {
                    1
                } else if r < 0.0 {
                    -1
                } else {
                    0
                }),
                _ => Value::Null,
            }
        }
        // coalesce/ifnull: the first non-NULL argument.
        "coalesce" | "ifnull" => {
            if name == "ifnull" {
                need(name, &args, 2, 2)?;
            } else {
                need(name, &args, 2, usize::MAX)?;
            }
            args.into_iter().find(|v| !v.is_null()).unwrap_or(Value::Null)
        }
        // nullif(a, b): NULL when a = b, else a.
        "nullif" => {
            need(name, &args, 2, 2)?;
            if arg(&args, 0).sql_cmp(arg(&args, 1)) == Some(Ordering::Equal) {
                Value::Null
            } else {
                arg(&args, 0).clone()
            }
        }
        "iif" | "if" => {
            need(name, &args, 2, 3)?;
            if arg(&args, 0).truth() == Some(true) {
                arg(&args, 1).clone()
            } else {
                arg(&args, 2).clone()
            }
        }
        // length: characters of text, bytes of a blob, digits of a number as text.
        "length" => {
            need(name, &args, 1, 1)?;
            match arg(&args, 0) {
                Value::Null => Value::Null,
                Value::Blob(b) => Value::Int(b.len() as i64),
                v => Value::Int(v.to_text().map_or(0, |s| s.chars().count() as i64)),
            }
        }
        "substr" | "substring" => {
            need(name, &args, 2, 3)?;
            substr(&args)
        }
        "upper" | "lower" => {
            need(name, &args, 1, 1)?;
            match arg(&args, 0).to_text() {
                Some(s) if name == "upper" => Value::Text(s.to_ascii_uppercase()),
                Some(s) => Value::Text(s.to_ascii_lowercase()),
                None => Value::Null,
            }
        }
        "trim" | "ltrim" | "rtrim" => {
            need(name, &args, 1, 2)?;
            let Some(s) = arg(&args, 0).to_text() else { return Ok(Value::Null) };
            let set: Vec<char> = match args.get(1) {
                Some(v) => match v.to_text() {
                    Some(t) => t.chars().collect(),
                    None => return Ok(Value::Null),
                },
                None => vec![' '],
            };
            let f = |c: char| set.contains(&c);
            Value::Text(match name {
                "ltrim" => s.trim_start_matches(f).to_string(),
                "rtrim" => s.trim_end_matches(f).to_string(),
                _ => s.trim_matches(f).to_string(),
            })
        }
        "replace" => {
            need(name, &args, 3, 3)?;
            match (arg(&args, 0).to_text(), arg(&args, 1).to_text(), arg(&args, 2).to_text()) {
                (Some(s), Some(from), Some(to)) => {
                    if from.is_empty() {
                        Value::Text(s)
                    } else {
                        Value::Text(s.replace(&from, &to))
                    }
                }
                _ => Value::Null,
            }
        }
        // instr: 1-based character position of the first occurrence, 0 if none.
        "instr" => {
            need(name, &args, 2, 2)?;
            match (arg(&args, 0).to_text(), arg(&args, 1).to_text()) {
                (Some(h), Some(n)) => Value::Int(match h.find(&n) {
                    Some(b) => h.get(..b).map_or(0, |p| p.chars().count()) as i64 + 1,
                    None => 0,
                }),
                _ => Value::Null,
            }
        }
        // round(x[, n]): always REAL, half away from zero.
        "round" => {
            need(name, &args, 1, 2)?;
            let Some(x) = arg(&args, 0).as_f64() else { return Ok(Value::Null) };
            let n = match args.get(1) {
                Some(v) => match v.as_i64() {
                    Some(n) => n.clamp(0, 30),
                    None => return Ok(Value::Null),
                },
                None => 0,
            };
            let m = 10f64.powi(n as i32);
            Value::Real((x * m).round() / m)
        }
        "typeof" => {
            need(name, &args, 1, 1)?;
            Value::Text(
                match arg(&args, 0) {
                    Value::Null => "null",
                    Value::Int(_) => "integer",
                    Value::Real(_) => "real",
                    Value::Text(_) => "text",
                    Value::Blob(_) => "blob",
                }
                .into(),
            )
        }
        "hex" => {
            need(name, &args, 1, 1)?;
            let bytes = match arg(&args, 0) {
                Value::Blob(b) => b.clone(),
                v => v.to_text().unwrap_or_default().into_bytes(),
            };
            Value::Text(bytes.iter().map(|b| format!("{b:02X}")).collect())
        }
        // Scalar min/max: NULL if any argument is NULL.
        "min" | "max" => {
            need(name, &args, 2, usize::MAX)?;
            if args.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            let mut it = args.into_iter();
            let first = it.next().unwrap_or(Value::Null);
            it.fold(first, |acc, v| {
                let o = v.total_cmp(&acc);
                if (name == "min" && o == Ordering::Less)
                    || (name == "max" && o == Ordering::Greater)
                {
                    v
                } else {
                    acc
                }
            })
        }
        _ => return Err(SqlError::plan(format!("no such function: {name}"))),
    })
}

/// substr(s, start[, len]) with SQLite's 1-based, negative-from-the-end rules.
fn substr(args: &[Value]) -> Value {
    let s = match arg(args, 0) {
        Value::Null => return Value::Null,
        v => v.to_text().unwrap_or_default(),
    };
    let Some(start) = arg(args, 1).as_i64() else { return Value::Null };
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let len = match args.get(2) {
        Some(v) => match v.as_i64() {
            Some(l) => Some(l),
            None => return Value::Null,
        },
        None => None,
    };
    let mut begin = if start > 0 {
        start - 1
    } else if start < 0 {
        n + start
    } else {
        -1
    };
    let mut end = match len {
        Some(l) if l >= 0 => begin.saturating_add(l),
        Some(l) => {
            let e = begin;
            begin = begin.saturating_add(l);
            e
        }
        None => n,
    };
    if start == 0 && len.is_some_and(|l| l > 0) {
        // substr(s, 0, k) returns k-1 characters.
        end = begin + len.unwrap_or(0);
    }
    let b = begin.clamp(0, n) as usize;
    let e = end.clamp(0, n) as usize;
    if b >= e {
        return Value::Text(String::new());
    }
    Value::Text(chars.get(b..e).map(|c| c.iter().collect()).unwrap_or_default())
}

/// Formats a value for `group_concat`.
pub fn concat_text(v: &Value) -> String {
    match v {
        Value::Real(r) => format_real(*r),
        other => other.to_text().unwrap_or_default(),
    }
}
