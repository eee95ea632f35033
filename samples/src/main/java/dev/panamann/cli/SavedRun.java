package dev.panamann.cli;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.panamann.data.PreparedData;
import dev.panamann.io.AtomicFiles;
import dev.panamann.io.ModelIO;
import dev.panamann.io.SafeTensors;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.TrainingState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A trained model on disk, in the folder a run writes:
 * <ul>
 *   <li>{@value #WEIGHTS}: the parameters (and batch-norm statistics), safetensors</li>
 *   <li>{@value #MEAN_IMAGE}: the mean training image, one tensor {@code mean_image} (C, H, W),
 *       for data preprocessed with {@link PreparedData#MEAN_IMAGE}</li>
 *   <li>{@value #DESCRIPTOR}: what {@code evaluate} and {@code predict} need to rebuild the
 *       model and prepare its input (model type and architecture, dataset, class names,
 *       preprocessing), plus how it was trained and how well it did</li>
 * </ul>
 */
public final class SavedRun {
    /** The descriptor's file name. */
    public static final String DESCRIPTOR = "model.json";
    /** The weights' file name. */
    public static final String WEIGHTS = "model.safetensors";
    /** The mean image's file name. */
    public static final String MEAN_IMAGE = "mean_image.safetensors";
    /** Value of {@link Descriptor#format()}. */
    public static final String FORMAT = "panama-nn-model";
    /** Name of the tensor in {@value #MEAN_IMAGE}. */
    public static final String MEAN_TENSOR = "mean_image";

    private static final Gson GSON = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .serializeSpecialFloatingPointValues()
            .setPrettyPrinting()
            .create();

    private SavedRun() {}

    /**
     * The contents of {@value #DESCRIPTOR}.
     *
     * @param format     always {@link #FORMAT}
     * @param version    1
     * @param model      the architecture, enough to rebuild the model
     * @param dataset    "cifar10" or "mnist"
     * @param classNames name of each class, index = label
     * @param preprocess {@link PreparedData#MEAN_IMAGE} or {@link PreparedData#UNIT_SCALE}
     * @param training   how the model was trained (null when unknown)
     * @param data       data sizes and source (free-form)
     * @param results    accuracies, timings (free-form; absent while training runs)
     */
    public record Descriptor(String format, int version, ModelSpec model, String dataset, List<String> classNames,
                             String preprocess, TrainSettings training, Map<String, Object> data, Map<String, Object> results) {
        /** A descriptor of the current format. */
        public static Descriptor of(ModelSpec model, PreparedData d, TrainSettings training, Map<String, Object> data,
                                    Map<String, Object> results) {
            return new Descriptor(FORMAT, 1, model, d.dataset(), d.classNames(), d.preprocess(), training, data, results);
        }

        /** The same with other results. */
        public Descriptor withResults(Map<String, Object> r) {
            return new Descriptor(format, version, model, dataset, classNames, preprocess, training, data, r);
        }
    }

    /** Writes {@value #DESCRIPTOR} into {@code dir}, atomically. */
    public static Path writeDescriptor(Path dir, Descriptor d) throws IOException {
        Path f = dir.resolve(DESCRIPTOR);
        AtomicFiles.writeString(f, GSON.toJson(d) + "\n");
        return f;
    }

    /** Writes the mean image into {@code dir} as {@value #MEAN_IMAGE}, when there is one. */
    public static void writeMeanImage(Path dir, Tensor meanImage) throws IOException {
        if (meanImage != null) SafeTensors.save(dir.resolve(MEAN_IMAGE), Map.of(MEAN_TENSOR, meanImage), Map.of("format", FORMAT));
    }

    /** Writes the model's weights into {@code dir} as {@value #WEIGHTS}. */
    public static Path writeWeights(Path dir, Model model, ModelSpec spec) throws IOException {
        Path f = dir.resolve(WEIGHTS);
        ModelIO.save(model, f, Map.of("model", spec.type()));
        return f;
    }

    /** Weights, mean image and descriptor: everything {@link #load} needs. */
    public static void save(Path dir, Model model, Tensor meanImage, Descriptor d) throws IOException {
        writeWeights(dir, model, d.model());
        writeMeanImage(dir, meanImage);
        writeDescriptor(dir, d);
    }

    /**
     * A saved model, rebuilt and loaded. Closing it frees the model and the mean image.
     *
     * @param descriptor the run's descriptor
     * @param model      the model with the saved weights
     * @param meanImage  (C, H, W) mean image, or null when the data is not mean-subtracted
     * @param weights    the file the weights came from
     */
    public record Loaded(Descriptor descriptor, Model model, Tensor meanImage, Path weights) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
            if (meanImage != null) meanImage.close();
        }
    }

    /** Reads {@value #DESCRIPTOR} of a run folder. */
    public static Descriptor readDescriptor(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new UserError("model folder not found: " + dir + "\n  --model-dir takes the folder a `panama-nn train` or "
                    + "`panama-nn search` run wrote (its --out).");
        }
        Path f = dir.resolve(DESCRIPTOR);
        if (!Files.isRegularFile(f)) {
            throw new UserError("no " + DESCRIPTOR + " in " + dir + "\n  --model-dir takes the folder a `panama-nn train` or "
                    + "`panama-nn search` run wrote (its --out).");
        }
        Descriptor d;
        try {
            d = GSON.fromJson(Files.readString(f, StandardCharsets.UTF_8), Descriptor.class);
        } catch (JsonParseException e) {
            throw new UserError(f + " is not a valid model descriptor: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // a value the model spec rejects (unknown type, a size out of range) arrives wrapped by Gson
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof UserError || c instanceof IllegalArgumentException || c instanceof ArithmeticException) {
                    throw new UserError(f + ": " + Cli.message(c), e);
                }
            }
            throw e;
        }
        if (d == null || !FORMAT.equals(d.format()) || d.model() == null || d.classNames() == null) {
            throw new UserError(f + " is not a panama-nn model descriptor (format '" + (d == null ? null : d.format())
                    + "', expected '" + FORMAT + "' with model and class_names)");
        }
        if (!List.of(PreparedData.MEAN_IMAGE, PreparedData.UNIT_SCALE, PreparedData.AS_IS).contains(d.preprocess())) {
            throw new UserError(f + ": unknown preprocess '" + d.preprocess() + "': expected " + PreparedData.MEAN_IMAGE
                    + ", " + PreparedData.UNIT_SCALE + " or " + PreparedData.AS_IS);
        }
        return d;
    }

    /**
     * Rebuilds the model of a run folder and loads its weights.
     *
     * @param dir     the run folder
     * @param weights the weights to load: null for {@value #WEIGHTS}; a Solver checkpoint
     *                of the run loads its best parameters (or current ones if it has no best)
     * @param ops     backend of the rebuilt model
     */
    public static Loaded load(Path dir, Path weights, Ops ops) throws IOException {
        Descriptor d = readDescriptor(dir);
        Path w = weights == null ? dir.resolve(WEIGHTS) : weights;
        Inputs.requireFile(w, "weights", weights == null ? "--model-dir DIR" : "--weights FILE",
                weights == null ? "a folder holding " + WEIGHTS + " (written when training ends)" : "a .safetensors model or checkpoint",
                null);
        Tensor mean = null;
        if (PreparedData.MEAN_IMAGE.equals(d.preprocess())) {
            Path m = dir.resolve(MEAN_IMAGE);
            Inputs.requireFile(m, "mean image", "--model-dir DIR", "the run folder, which holds " + MEAN_IMAGE, null);
            try (SafeTensors.Contents c = SafeTensors.load(m)) {
                Tensor t = c.tensors().get(MEAN_TENSOR);
                if (t == null || !Arrays.equals(t.shape(), d.model().inputShape())) {
                    throw new UserError(m + " should hold a tensor '" + MEAN_TENSOR + "' of shape " + Arrays.toString(d.model().inputShape())
                            + ", found " + c.tensors().keySet());
                }
                mean = t.copy();
            }
        }
        Model model = null;
        try {
            model = d.model().build(ops);
            SafeTensors.Header h = SafeTensors.readHeader(w);
            String prefix = "";
            if (TrainingState.FORMAT.equals(h.metadata().get("format"))) {
                prefix = h.entries().keySet().stream().anyMatch(n -> n.startsWith("best/")) ? "best/" : "param/";
            }
            try {
                ModelIO.load(model, w, prefix);
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage(), e);
            }
            return new Loaded(d, model, mean, w);
        } catch (IOException | RuntimeException e) {
            if (model != null) model.close();
            if (mean != null) mean.close();
            throw e;
        }
    }
}
