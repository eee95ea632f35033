package dev.panamann.train;

import dev.panamann.data.Dataset;
import dev.panamann.models.Model;
import dev.panamann.ops.Elementwise;
import dev.panamann.tensor.Tensor;
import java.util.List;
import java.util.Locale;

/**
 * Evaluates a classifier: predicted classes (the argmax of {@link Model#scores}, evaluation
 * mode), accuracy, and accuracy per class. The {@link Solver}'s accuracy checks and the command
 * line's {@code evaluate} use these same methods.
 *
 * <pre>{@code
 * int[] pred = Evaluation.predict(model, test, 100);
 * double acc = Evaluation.accuracy(pred, test.y());
 * System.out.print(Evaluation.perClass(pred, test.y(), 10).table(classNames));
 * }</pre>
 */
public final class Evaluation {
    private Evaluation() {}

    /**
     * The index of the largest score of each of the first {@code count} rows (the first one on
     * ties; a NaN score is never the largest unless it is in column 0).
     *
     * @param scores (N, C) class scores, N &gt;= count
     * @param count  rows to read
     * @param dst    receives the classes, at {@code dst[offset .. offset + count)}
     * @param offset first position of {@code dst} written
     */
    public static void argmaxRows(Tensor scores, int count, int[] dst, int offset) {
        if (scores.rank() != 2) {
            throw new IllegalArgumentException("scores must be (N, numClasses), got shape " + scores.shapeString());
        }
        if (count < 0 || count > scores.dim(0)) {
            throw new IllegalArgumentException("cannot read " + count + " rows of scores of shape " + scores.shapeString());
        }
        if (offset < 0 || offset > dst.length - count) {
            throw new IndexOutOfBoundsException("positions [" + offset + ", " + ((long) offset + count)
                    + ") are outside the destination of " + dst.length);
        }
        int c = scores.dim(1);
        if (c == 0) throw new IllegalArgumentException("scores have no classes: shape " + scores.shapeString());
        Elementwise.argmaxRows(scores.segment(), count, c, dst, offset);
    }

    /**
     * The predicted class of every example (evaluation mode), in batches.
     *
     * @param model     the classifier
     * @param x         (N, ...) examples of the model's input shape
     * @param batchSize examples per {@link Model#scores} call, &gt;= 1
     * @return N class indices
     */
    public static int[] predict(Model model, Tensor x, int batchSize) {
        if (model == null) throw new IllegalArgumentException("model is null");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (x.rank() < 1) throw new IllegalArgumentException("examples must be (N, ...), got a scalar");
        int n = x.dim(0);
        int[] pred = new int[n];
        for (int start = 0; start < n; start += batchSize) {
            int count = Math.min(batchSize, n - start);
            Tensor scores = model.scores(x.slice(start, start + count));
            if (scores.rank() != 2 || scores.dim(0) != count) {
                throw new IllegalStateException("model.scores returned shape " + scores.shapeString() + " for a batch of "
                        + count + "; expected (" + count + ", numClasses)");
            }
            argmaxRows(scores, count, pred, start);
        }
        return pred;
    }

    /** {@link #predict(Model, Tensor, int)} of a dataset's examples. */
    public static int[] predict(Model model, Dataset data, int batchSize) {
        return predict(model, data.x(), batchSize);
    }

    /**
     * Fraction of predictions equal to the labels.
     *
     * @param pred N predicted classes
     * @param y    N labels
     * @return the accuracy in [0, 1], NaN when N = 0
     */
    public static double accuracy(int[] pred, int[] y) {
        if (pred.length != y.length) {
            throw new IllegalArgumentException(pred.length + " predictions for " + y.length + " labels");
        }
        return y.length == 0 ? Double.NaN : (double) correct(pred, y) / y.length;
    }

    /**
     * Accuracy of the model on a dataset (evaluation mode).
     *
     * @param model     the classifier
     * @param data      x (N, ...) examples and N labels
     * @param batchSize examples per forward pass, &gt;= 1
     */
    public static double accuracy(Model model, Dataset data, int batchSize) {
        return accuracy(predict(model, data, batchSize), data.y());
    }

    /** Number of positions where {@code pred} equals {@code y} (same lengths). */
    static long correct(int[] pred, int[] y) {
        long correct = 0;
        for (int i = 0; i < y.length; i++) if (pred[i] == y[i]) correct++;
        return correct;
    }

    /**
     * Correct predictions and examples of each class.
     *
     * @param pred       N predicted classes
     * @param y          N labels, each in [0, numClasses)
     * @param numClasses number of classes
     */
    public static PerClass perClass(int[] pred, int[] y, int numClasses) {
        if (pred.length != y.length) {
            throw new IllegalArgumentException(pred.length + " predictions for " + y.length + " labels");
        }
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        int[] total = new int[numClasses], correct = new int[numClasses];
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= numClasses) {
                throw new IllegalArgumentException("label " + i + " is " + y[i] + ", outside [0, " + numClasses + ")");
            }
            total[y[i]]++;
            if (pred[i] == y[i]) correct[y[i]]++;
        }
        return new PerClass(correct, total);
    }

    /**
     * Accuracy per class.
     *
     * @param correct correct predictions of each class (examples labelled c and predicted c)
     * @param total   examples of each class
     */
    public record PerClass(int[] correct, int[] total) {
        public PerClass {
            if (correct.length != total.length) {
                throw new IllegalArgumentException(correct.length + " correct counts for " + total.length + " classes");
            }
            correct = correct.clone();
            total = total.clone();
        }

        /** Number of classes. */
        public int numClasses() { return total.length; }

        /** Accuracy of class {@code c}, NaN when it has no examples. */
        public double accuracy(int c) {
            return total[c] == 0 ? Double.NaN : (double) correct[c] / total[c];
        }

        @Override
        public int[] correct() { return correct.clone(); }

        @Override
        public int[] total() { return total.clone(); }

        /**
         * A table with one row per class: name, correct / total, accuracy in percent ("-" for a
         * class without examples).
         *
         * @param classNames name of each class, index = label
         */
        public String table(List<String> classNames) {
            if (classNames.size() != total.length) {
                throw new IllegalArgumentException(classNames.size() + " class names for " + total.length + " classes");
            }
            int w = "class".length();
            for (String n : classNames) w = Math.max(w, n.length());
            String fmt = "%-" + w + "s  %13s  %8s%n";
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, fmt, "class", "correct/total", "accuracy"));
            for (int k = 0; k < total.length; k++) {
                sb.append(String.format(Locale.ROOT, fmt, classNames.get(k), correct[k] + "/" + total[k],
                        total[k] == 0 ? "-" : String.format(Locale.ROOT, "%.2f%%", 100 * accuracy(k))));
            }
            return sb.toString();
        }
    }
}
