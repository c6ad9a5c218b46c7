//! SQL type names in DataFusion planned the way llkv stores them.

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast::DataType as SqlType;
use std::sync::Arc;

/// Maps SQL types through [`llkv_sql::types::arrow_type`], the mapping both
/// llkv routes share (`INTEGER` → Int64, `REAL` → Float64, `TEXT` → Utf8, …),
/// instead of DataFusion's defaults (Int32, Float32, Utf8View). Types llkv does
/// not know are left to DataFusion.
#[derive(Debug, Default, Clone, Copy)]
pub struct LlkvTypePlanner;

impl TypePlanner for LlkvTypePlanner {
    fn plan_type_field(&self, sql_type: &SqlType) -> Result<Option<FieldRef>> {
        Ok(llkv_type(sql_type).map(|dt| Arc::new(Field::new("", dt, true))))
    }
}

/// The llkv type of a SQL type, when llkv has one.
pub(crate) fn llkv_type(sql_type: &SqlType) -> Option<DataType> {
    llkv_sql::types::arrow_type(sql_type).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_style_names_get_llkv_types() {
        let p = LlkvTypePlanner;
        let field =
            |t: SqlType| p.plan_type_field(&t).ok().flatten().map(|f| f.data_type().clone());
        assert_eq!(field(SqlType::Integer(None)), Some(DataType::Int64));
        assert_eq!(field(SqlType::Real), Some(DataType::Float64));
        assert_eq!(field(SqlType::Text), Some(DataType::Utf8));
    }
}
