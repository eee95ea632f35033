package dev.panamann.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads {@link Example}s from DataFrame rows of a checked schema: after
 * {@code select(columns())} a row holds the label at position 0 and the features after it
 * (one array or binary column, or one numeric column per value). Errors name the partition,
 * the row within it and the column.
 */
final class RowConverter implements Function2<Integer, Iterator<Row>, Iterator<Example>>, Serializable {
    private static final long serialVersionUID = 1L;

    /** How the features are stored. */
    enum Kind { ARRAY, BINARY, COLUMNS }

    private final String what;
    private final String label;
    private final String[] features;
    private final Kind kind;
    private final int size;

    private RowConverter(String what, String label, String[] features, Kind kind, int size) {
        this.what = what;
        this.label = label;
        this.features = features;
        this.kind = kind;
        this.size = size;
    }

    /**
     * Checks the schema and returns the converter for it.
     *
     * @param what  "training" or "validation", for messages
     * @param size  values per example
     * @throws IllegalArgumentException naming the column that is missing or of a type not accepted
     */
    static RowConverter of(StructType schema, String what, String labelColumn, String[] featureColumns, int size) {
        if (labelColumn == null || labelColumn.isBlank()) throw new IllegalArgumentException("the label column name is missing");
        if (featureColumns == null || featureColumns.length == 0) throw new IllegalArgumentException("no feature column given");
        DataType lt = field(schema, what, labelColumn, "label").dataType();
        if (!isInteger(lt)) {
            throw new IllegalArgumentException("the " + what + " DataFrame's label column '" + labelColumn + "' is of type "
                    + lt.simpleString() + ": it must be an integer type (byte, short, int or long)");
        }
        for (String f : featureColumns) {
            if (f == null || f.isBlank()) throw new IllegalArgumentException("a feature column name is missing: " + Arrays.toString(featureColumns));
            if (f.equals(labelColumn)) throw new IllegalArgumentException("column '" + f + "' is both the label and a feature");
        }
        Kind kind;
        if (featureColumns.length == 1 && !isNumber(field(schema, what, featureColumns[0], "feature").dataType())) {
            DataType t = field(schema, what, featureColumns[0], "feature").dataType();
            if (t instanceof BinaryType) {
                kind = Kind.BINARY;
            } else if (t instanceof ArrayType a && isNumber(a.elementType())) {
                kind = Kind.ARRAY;
            } else {
                throw new IllegalArgumentException("the " + what + " DataFrame's feature column '" + featureColumns[0] + "' is of type "
                        + t.simpleString() + ": use an array of numbers (array<float>, array<double>, ...), a binary column of"
                        + " unsigned bytes, or " + size + " numeric columns");
            }
        } else {
            kind = Kind.COLUMNS;
            for (String f : featureColumns) {
                DataType t = field(schema, what, f, "feature").dataType();
                if (!isNumber(t)) {
                    throw new IllegalArgumentException("the " + what + " DataFrame's feature column '" + f + "' is of type "
                            + t.simpleString() + ": with several feature columns each must be a number (byte, short, int, long,"
                            + " float or double)");
                }
            }
            if (featureColumns.length != size) {
                throw new IllegalArgumentException(featureColumns.length + " feature columns given but the example shape holds " + size
                        + " values: give one array or binary column, or one numeric column per value");
            }
        }
        return new RowConverter(what, labelColumn, featureColumns.clone(), kind, size);
    }

    private static StructField field(StructType schema, String what, String name, String role) {
        for (StructField f : schema.fields()) if (f.name().equals(name)) return f;
        throw new IllegalArgumentException("the " + what + " DataFrame has no " + role + " column '" + name + "'; its columns: "
                + Arrays.toString(schema.fieldNames()));
    }

    private static boolean isInteger(DataType t) {
        return t instanceof ByteType || t instanceof ShortType || t instanceof IntegerType || t instanceof LongType;
    }

    private static boolean isNumber(DataType t) {
        return isInteger(t) || t instanceof FloatType || t instanceof DoubleType;
    }

    /** The columns to select: the label, then the features. */
    Column[] columns() {
        Column[] c = new Column[features.length + 1];
        c[0] = col(label);
        for (int i = 0; i < features.length; i++) c[i + 1] = col(features[i]);
        return c;
    }

    private static Column col(String name) {
        return functions.col("`" + name.replace("`", "``") + "`");
    }

    /** Converts rows collected to the driver (positions in the message are rows of the collected list). */
    List<Example> convert(List<Row> rows) {
        List<Example> l = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) l.add(example(rows.get(i), what + " row " + i));
        return l;
    }

    /** One partition of selected rows as examples, converted as they are read. */
    @Override
    public Iterator<Example> call(Integer partition, Iterator<Row> rows) {
        return new Iterator<>() {
            private int row;

            @Override
            public boolean hasNext() { return rows.hasNext(); }

            @Override
            public Example next() {
                if (!rows.hasNext()) throw new NoSuchElementException();
                return example(rows.next(), "partition " + partition + ": " + what + " row " + row++);
            }
        };
    }

    Example example(Row r, String where) {
        if (r.isNullAt(0)) throw new IllegalArgumentException(where + ": the label column '" + label + "' is null");
        long y = ((Number) r.get(0)).longValue();
        if (y < 0 || y > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(where + ": the label column '" + label + "' holds " + y + ", not a class (0, 1, ...)");
        }
        float[] x = new float[size];
        switch (kind) {
            case BINARY -> {
                if (r.isNullAt(1)) throw new IllegalArgumentException(where + ": the feature column '" + features[0] + "' is null");
                byte[] b = (byte[]) r.get(1);
                if (b.length != size) {
                    throw new IllegalArgumentException(where + ": the feature column '" + features[0] + "' holds " + b.length
                            + " bytes but the example shape needs " + size);
                }
                for (int i = 0; i < size; i++) x[i] = b[i] & 0xff;
            }
            case ARRAY -> {
                if (r.isNullAt(1)) throw new IllegalArgumentException(where + ": the feature column '" + features[0] + "' is null");
                List<Object> v = r.getList(1);
                if (v.size() != size) {
                    throw new IllegalArgumentException(where + ": the feature column '" + features[0] + "' holds " + v.size()
                            + " values but the example shape needs " + size);
                }
                for (int i = 0; i < size; i++) {
                    Object o = v.get(i);
                    if (o == null) throw new IllegalArgumentException(where + ": value " + i + " of the feature column '" + features[0] + "' is null");
                    x[i] = ((Number) o).floatValue();
                }
            }
            case COLUMNS -> {
                for (int i = 0; i < size; i++) {
                    if (r.isNullAt(i + 1)) throw new IllegalArgumentException(where + ": the feature column '" + features[i] + "' is null");
                    x[i] = ((Number) r.get(i + 1)).floatValue();
                }
            }
        }
        return new Example(x, (int) y);
    }
}
