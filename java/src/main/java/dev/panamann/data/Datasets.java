package dev.panamann.data;

import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The datasets the library reads, split and preprocessed the way the cs231n assignments and
 * the usual MNIST tutorials do, in one call: {@link #load} (or {@link #loadCifar},
 * {@link #loadMnist}) for training, {@link #loadTestSet} for evaluating a saved model.
 */
public final class Datasets {
    /** The dataset names {@link #load} knows. */
    public static final List<String> NAMES = List.of("cifar10", "mnist");

    private Datasets() {}

    /**
     * The default number of validation examples of a dataset: 1000 for CIFAR-10 (the cs231n
     * split), 5000 for MNIST (55000 / 5000, as in the TensorFlow MNIST tutorials). Picking the
     * best epoch on 1000 MNIST digits is noise: nets around 99 % differ by a handful of digits.
     */
    public static int defaultNumVal(String dataset) {
        return "mnist".equals(dataset) ? 5000 : 1000;
    }

    /**
     * Loads a dataset, splits it and preprocesses it (see {@link #loadCifar} and {@link #loadMnist}).
     *
     * @param dataset  "cifar10" or "mnist"
     * @param path     the data
     * @param numTrain training examples, or null for all but the validation ones
     * @param numVal   validation examples (the ones after the training ones)
     * @param numTest  test examples, or null for all
     * @param log      where to say what was loaded
     * @throws IllegalArgumentException for an unknown dataset or counts out of range
     */
    public static PreparedData load(String dataset, Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        return switch (dataset) {
            case "cifar10" -> loadCifar(path, numTrain, numVal, numTest, log);
            case "mnist" -> loadMnist(path, numTrain, numVal, numTest, log);
            default -> throw unknown(dataset);
        };
    }

    /**
     * CIFAR-10 with cs231n's split and preprocessing: the first {@code numTrain} training images
     * train, the next {@code numVal} validate (49000 / 1000 by default), the first
     * {@code numTest} test images test; then the mean training image is subtracted from all
     * three. Only the images needed are read.
     *
     * @param path     cifar-10-binary.tar.gz or its extracted folder
     * @param numTrain training images, or null for all but the validation ones
     * @param numVal   validation images
     * @param numTest  test images, or null for all
     * @param log      where to say what was loaded
     * @return x (N, 3, 32, 32) minus the mean image, with that mean image
     */
    public static PreparedData loadCifar(Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        requireExists(path, "CIFAR-10 data", "the " + Cifar10.ARCHIVE_NAME + " archive or its extracted " + Cifar10.FOLDER_NAME + "/ folder");
        checkCounts(numTrain, numVal, numTest);
        long t0 = System.nanoTime();
        Cifar10.Data data = Cifar10.load(path, numTrain == null ? Cifar10.ALL : Math.addExact(numTrain, numVal),
                numTest == null ? Cifar10.ALL : numTest);
        try {
            Splits s = split(data.train(), data.test(), numTrain, numVal, path);
            Tensor mean = Preprocess.subtractMeanImage(s.train(), s.val(), s.test());
            log.printf(Locale.ROOT, "CIFAR-10 from %s: %s (%.1f s; mean image subtracted)%n", path, sizes(s),
                    (System.nanoTime() - t0) / 1e9);
            return new PreparedData("cifar10", s.train(), s.val(), s.test(), data.classNames(), PreparedData.MEAN_IMAGE, mean, data);
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /**
     * MNIST with pixels scaled to [0, 1]: the first {@code numTrain} training digits train,
     * the next {@code numVal} validate (55000 / 5000 by default), the first {@code numTest}
     * test digits test.
     *
     * @param dir      folder of the four idx files (gzip or not)
     * @param numTrain training digits, or null for all but the validation ones
     * @param numVal   validation digits
     * @param numTest  test digits, or null for all
     * @param log      where to say what was loaded
     * @return x (N, 1, 28, 28) in [0, 1]
     */
    public static PreparedData loadMnist(Path dir, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        requireExists(dir, "MNIST data", "the folder holding the four idx files");
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("MNIST data must be a folder, but " + dir + " is a file");
        checkCounts(numTrain, numVal, numTest);
        long t0 = System.nanoTime();
        Mnist.Data data = Mnist.load(dir, numTrain == null ? Mnist.ALL : Math.addExact(numTrain, numVal),
                numTest == null ? Mnist.ALL : numTest, true);
        try {
            Splits s = split(data.train(), data.test(), numTrain, numVal, dir);
            log.printf(Locale.ROOT, "MNIST from %s: %s (%.1f s; pixels scaled to [0, 1])%n", dir, sizes(s), (System.nanoTime() - t0) / 1e9);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < Mnist.NUM_CLASSES; i++) names.add(Integer.toString(i));
            return new PreparedData("mnist", s.train(), s.val(), s.test(), List.copyOf(names), PreparedData.UNIT_SCALE, null, data);
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /**
     * Only the test part of a dataset, as read (no preprocessing): for evaluating a saved model.
     *
     * @param dataset "cifar10" or "mnist"
     * @param path    the data
     * @param numTest test examples to read, or null for all
     * @param log     where to say what was loaded
     * @return x (N_test, C, H, W) (CIFAR-10 pixels 0..255, MNIST pixels in [0, 1]), the caller closes it
     */
    public static Dataset loadTestSet(String dataset, Path path, Integer numTest, PrintStream log) throws IOException {
        if (numTest != null && numTest < 1) throw new IllegalArgumentException("numTest must be >= 1, got " + numTest);
        int max = numTest == null ? Integer.MAX_VALUE : numTest;
        long t0 = System.nanoTime();
        Dataset test;
        switch (dataset) {
            case "cifar10" -> {
                requireExists(path, "CIFAR-10 data", "the " + Cifar10.ARCHIVE_NAME + " archive or its extracted " + Cifar10.FOLDER_NAME + "/ folder");
                Cifar10.Data d = Cifar10.load(path, 0, max);
                d.train().close();
                test = d.test();
            }
            case "mnist" -> {
                requireExists(path, "MNIST data", "the folder holding the four idx files");
                Mnist.Data d = Mnist.load(path, 0, max, true);
                d.train().close();
                test = d.test();
            }
            default -> throw unknown(dataset);
        }
        log.printf(Locale.ROOT, "%s test set from %s: %d examples (%.1f s)%n", dataset, path, test.size(), (System.nanoTime() - t0) / 1e9);
        return test;
    }

    private static IllegalArgumentException unknown(String dataset) {
        return new IllegalArgumentException("unknown dataset '" + dataset + "': use " + String.join(" or ", NAMES));
    }

    private static void requireExists(Path path, String what, String form) throws NoSuchFileException {
        if (path == null) throw new IllegalArgumentException(what + ": no path given (" + form + ")");
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, what + " not found; expected " + form);
    }

    private static void checkCounts(Integer numTrain, int numVal, Integer numTest) {
        if (numTrain != null && numTrain < 1) throw new IllegalArgumentException("numTrain must be >= 1, got " + numTrain);
        if (numVal < 1) throw new IllegalArgumentException("numVal must be >= 1, got " + numVal);
        if (numTest != null && numTest < 1) throw new IllegalArgumentException("numTest must be >= 1, got " + numTest);
        if (numTrain != null && (long) numTrain + numVal > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(numTrain + " training plus " + numVal + " validation examples are more than any dataset holds");
        }
    }

    private static Splits split(Dataset train, Dataset test, Integer numTrain, int numVal, Path path) {
        int available = train.size();
        int nTrain = numTrain == null ? available - numVal : numTrain;
        if (nTrain < 1 || nTrain + numVal > available) {
            throw new IllegalArgumentException(path + " holds " + available + " training examples, too few for "
                    + (numTrain == null ? "" : nTrain + " training + ") + numVal + " validation examples: ask for fewer training or validation examples");
        }
        if (test.size() == 0) throw new IllegalArgumentException(path + " holds no test examples");
        return Splits.cs231n(train, test, nTrain, numVal, test.size());
    }

    private static String sizes(Splits s) {
        return s.train().size() + " train / " + s.val().size() + " val / " + s.test().size() + " test";
    }
}
