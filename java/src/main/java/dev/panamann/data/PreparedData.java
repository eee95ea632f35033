package dev.panamann.data;

import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * A dataset ready for training: split into training, validation and test parts and
 * preprocessed. Closing it frees the data and the mean image.
 *
 * @param dataset    "cifar10", "mnist", or a name for other data (e.g. "spiral")
 * @param train      x (N_train, ...), e.g. (N_train, C, H, W), N_train labels
 * @param val        x (N_val, ...), N_val labels
 * @param test       x (N_test, ...), N_test labels
 * @param classNames name of each class, index = label
 * @param preprocess how pixels were prepared: {@link #MEAN_IMAGE}, {@link #UNIT_SCALE} or {@link #AS_IS}
 * @param meanImage  (C, H, W) mean of the training images, subtracted from all three parts;
 *                   null unless preprocess is {@link #MEAN_IMAGE}
 * @param owner      what holds the memory of the three parts (they may be views of it)
 */
public record PreparedData(String dataset, Dataset train, Dataset val, Dataset test, List<String> classNames,
                           String preprocess, Tensor meanImage, AutoCloseable owner) implements AutoCloseable {
    /** Pixels 0..255 as read, minus the mean training image (cs231n's CIFAR-10 preprocessing). */
    public static final String MEAN_IMAGE = "mean_image";
    /** Pixels scaled to [0, 1] (byte / 255), nothing subtracted (the usual MNIST input). */
    public static final String UNIT_SCALE = "unit_scale";
    /** Used as generated (toy data). */
    public static final String AS_IS = "as_is";

    /** Shape of one example, e.g. (3, 32, 32). */
    public int[] exampleShape() { return train.exampleShape(); }

    /** Number of classes. */
    public int numClasses() { return classNames.size(); }

    /** "49000 train / 1000 val / 10000 test". */
    public String sizes() {
        return train.size() + " train / " + val.size() + " val / " + test.size() + " test";
    }

    @Override
    public void close() {
        if (meanImage != null) meanImage.close();
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the data failed: " + e.getMessage(), e);
        }
    }
}
