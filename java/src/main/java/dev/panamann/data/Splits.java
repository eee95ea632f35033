package dev.panamann.data;

import dev.panamann.tensor.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A training / validation / test split. Closing it closes the three datasets (which does
 * nothing for views: their parent keeps the memory).
 *
 * @param train x (N_train, ...), y N_train labels
 * @param val   x (N_val, ...), y N_val labels
 * @param test  x (N_test, ...), y N_test labels
 */
public record Splits(Dataset train, Dataset val, Dataset test) implements AutoCloseable {

    /**
     * cs231n's split of CIFAR-10: the first {@code numTrain} training examples train, the next
     * {@code numVal} validate, and the first {@code numTest} test examples test. The parts are
     * <em>views</em> of {@code train} and {@code test}: nothing is copied, preprocessing them in
     * place changes the parents, and the parents must stay open while the parts are used.
     *
     * @param train    x (N, ...), N >= numTrain + numVal
     * @param test     x (M, ...), M >= numTest
     * @param numTrain training examples (cs231n: 49000)
     * @param numVal   validation examples (cs231n: 1000)
     * @param numTest  test examples (cs231n: 10000)
     */
    public static Splits cs231n(Dataset train, Dataset test, int numTrain, int numVal, int numTest) {
        if (numTrain < 0 || numVal < 0 || numTest < 0) {
            throw new IllegalArgumentException("split sizes must be >= 0, got " + numTrain + "/" + numVal + "/" + numTest);
        }
        if ((long) numTrain + numVal > train.size()) {
            throw new IllegalArgumentException("cannot take " + numTrain + " training + " + numVal
                    + " validation examples from a training set of " + train.size());
        }
        if (numTest > test.size()) {
            throw new IllegalArgumentException("cannot take " + numTest + " test examples from a test set of " + test.size());
        }
        return new Splits(train.range(0, numTrain), train.range(numTrain, numTrain + numVal), test.head(numTest));
    }

    /**
     * cs231n's standard CIFAR-10 split, 49000 / 1000 / 10000, as views of {@code data}.
     *
     * @param data the full CIFAR-10 (50000 training, 10000 test examples)
     */
    public static Splits cs231n(Cifar10.Data data) {
        return cs231n(data.train(), data.test(), 49000, 1000, 10000);
    }

    /**
     * Shuffles {@code data} with {@code rng} and cuts it into three parts in the ratio
     * {@code train : val : test} (e.g. 2:1:1). The parts are new datasets (copies) that the
     * caller closes; together they hold every example exactly once.
     *
     * @param data  x (N, ...), y N labels
     * @param rng   seeded generator for the shuffle
     * @param train weight of the training part (>= 0)
     * @param val   weight of the validation part (>= 0)
     * @param test  weight of the test part (>= 0)
     */
    public static Splits byRatio(Dataset data, Rng rng, double train, double val, double test) {
        List<Dataset> p = partition(data, rng, train, val, test);
        return new Splits(p.get(0), p.get(1), p.get(2));
    }

    /**
     * Shuffles {@code data} with {@code rng} and cuts it into parts whose sizes are in the
     * ratio of {@code weights}. Part i gets the examples from {@code round(N * W_i / W)} to
     * {@code round(N * W_{i+1} / W)} of the shuffled order, where W_i is the sum of the first
     * i weights: the sizes add up to N and the parts are disjoint.
     *
     * @param data    x (N, ...), y N labels
     * @param rng     seeded generator for the shuffle
     * @param weights one non-negative weight per part, not all zero
     * @return the parts, new datasets (copies) the caller closes
     */
    public static List<Dataset> partition(Dataset data, Rng rng, double... weights) {
        double total = 0;
        for (double w : weights) {
            if (!(w >= 0) || Double.isInfinite(w)) {
                throw new IllegalArgumentException("split weights must be finite and >= 0, got " + Arrays.toString(weights));
            }
            total += w;
        }
        if (weights.length == 0 || total == 0) {
            throw new IllegalArgumentException("need at least one positive split weight, got " + Arrays.toString(weights));
        }
        int n = data.size();
        int[] order = rng.permutation(n);
        List<Dataset> parts = new ArrayList<>();
        double cum = 0;
        int from = 0;
        try {
            for (int i = 0; i < weights.length; i++) {
                cum += weights[i];
                int to = i == weights.length - 1 ? n : (int) Math.round(n * cum / total);
                parts.add(data.select(Arrays.copyOfRange(order, from, to)));
                from = to;
            }
            return parts;
        } catch (RuntimeException | Error e) {
            for (Dataset d : parts) d.close();
            throw e;
        }
    }

    /** Sizes as "train/val/test". */
    @Override
    public String toString() {
        return "Splits[" + train.size() + "/" + val.size() + "/" + test.size() + "]";
    }

    @Override
    public void close() {
        train.close();
        val.close();
        test.close();
    }
}
