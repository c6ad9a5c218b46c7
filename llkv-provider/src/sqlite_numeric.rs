//! SQLite's `sum`, `avg` and `total` over text on the DataFusion route.
//!
//! SQLite reads a text value as the number its longest numeric prefix spells
//! (`'12abc'` is 12, `'x'` is 0) and sums it as a float. DataFusion refuses to
//! plan `sum`/`avg` of a text column. A statement that fails so is retried
//! (see the engine) with the arguments of its `sum`, `avg` and `total` calls
//! wrapped in `sqlite_num(x)`: text becomes that float, any other type is
//! passed on unchanged (so an integer `sum` in the same statement stays an
//! integer). Statements that plan the first time are never rewritten.

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments};
use datafusion::sql::sqlparser::ast::{VisitMut, VisitorMut};
use std::ops::ControlFlow;
use std::sync::Arc;

/// The UDF's name.
const NAME: &str = "sqlite_num";

/// `sqlite_num(x)`: text as SQLite's number, other values unchanged.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SqliteNum {
    signature: Signature,
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The number a text's longest numeric prefix spells (0 without one), as SQLite reads it.
pub(crate) fn text_number(s: &str) -> f64 {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut end = 0;
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let mut any = digits(&mut i);
    if any {
        end = i;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) || any {
            any = true;
            end = i;
        }
    }
    if any && matches!(b.get(end), Some(b'e' | b'E')) {
        let mut j = end + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if digits(&mut j) {
            end = j;
        }
    }
    t.get(..end).and_then(|p| p.parse::<f64>().ok()).unwrap_or(0.0)
}

impl ScalarUDFImpl for SqliteNum {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(t) if is_text(t) => Ok(DataType::Float64),
            Some(t) => Ok(t.clone()),
            None => datafusion::common::plan_err!("{NAME} takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(arg) = args.args.into_iter().next() else {
            return datafusion::common::exec_err!("{NAME} takes one argument");
        };
        if !is_text(&arg.data_type()) {
            return Ok(arg);
        }
        match arg {
            ColumnarValue::Scalar(s) => {
                let v = s.to_array()?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&convert(&v)?, 0)?))
            }
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(convert(&a)?)),
        }
    }
}

fn convert(a: &ArrayRef) -> Result<ArrayRef> {
    let text = cast(a, &DataType::Utf8)?;
    let Some(s) = text.as_any().downcast_ref::<datafusion::arrow::array::StringArray>() else {
        return datafusion::common::exec_err!("{NAME}: not text");
    };
    let out: Float64Array = s.iter().map(|v| v.map(text_number)).collect();
    Ok(Arc::new(out))
}

/// The `sqlite_num` UDF, to register in a session.
pub(crate) fn udf() -> ScalarUDF {
    ScalarUDF::from(SqliteNum { signature: Signature::any(1, Volatility::Immutable) })
}

/// Whether a planning error is DataFusion refusing `sum`/`avg` of text.
pub(crate) fn is_text_aggregate_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.contains("sum") || m.contains("avg"))
        && (m.contains("utf8") || m.contains("string") || m.contains("varchar"))
}

struct Wrap {
    wrapped: bool,
}

impl VisitorMut for Wrap {
    type Break = ();
    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        let ast::Expr::Function(f) = e else { return ControlFlow::Continue(()) };
        let name = f.name.to_string().to_ascii_lowercase();
        if !matches!(name.as_str(), "sum" | "avg" | "total") || f.over.is_some() {
            return ControlFlow::Continue(());
        }
        let FunctionArguments::List(list) = &mut f.args else {
            return ControlFlow::Continue(());
        };
        if let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice() {
            let inner = std::mem::replace(arg, ast::Expr::value(ast::Value::Null));
            *arg = ast::Expr::Function(ast::Function {
                name: ast::ObjectName::from(vec![ast::Ident::new(NAME)]),
                uses_odbc_syntax: false,
                parameters: FunctionArguments::None,
                args: FunctionArguments::List(ast::FunctionArgumentList {
                    duplicate_treatment: None,
                    args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(inner))],
                    clauses: Vec::new(),
                }),
                filter: None,
                null_treatment: None,
                over: None,
                within_group: Vec::new(),
            });
            self.wrapped = true;
        }
        ControlFlow::Continue(())
    }
}

/// `stmt` with the arguments of its `sum`, `avg` and `total` calls wrapped in
/// `sqlite_num` (run before the `total` rewrite); `None` when it has none.
pub(crate) fn wrap_numeric_aggregates(stmt: &Statement) -> Option<Statement> {
    let Statement::Statement(s) = stmt else { return None };
    let mut s = s.clone();
    let mut w = Wrap { wrapped: false };
    let _ = s.visit(&mut w);
    w.wrapped.then_some(Statement::Statement(s))
}

#[cfg(test)]
mod tests {
    use super::text_number;

    #[test]
    fn numeric_prefixes_as_sqlite_reads_them() {
        assert_eq!(text_number("12"), 12.0);
        assert_eq!(text_number(" 3abc"), 3.0);
        assert_eq!(text_number("x"), 0.0);
        assert_eq!(text_number("-1.5e2z"), -150.0);
        assert_eq!(text_number("1e"), 1.0);
        assert_eq!(text_number(".5"), 0.5);
        assert_eq!(text_number("5."), 5.0);
        assert_eq!(text_number("."), 0.0);
        assert_eq!(text_number("+"), 0.0);
    }
}
