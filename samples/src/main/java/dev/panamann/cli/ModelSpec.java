package dev.panamann.cli;

import dev.panamann.io.Formats;
import dev.panamann.loss.Loss;
import dev.panamann.models.SequentialModel;
import dev.panamann.ops.Ops;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which model to build and with what architecture hyperparameters: everything needed to rebuild
 * a saved model before its weights are loaded (it is stored in the run's {@code model.json}).
 *
 * @param type        one of {@link #TYPES}
 * @param inputShape  shape of one example, e.g. (3, 32, 32) or (1, 28, 28)
 * @param numClasses  number of classes C
 * @param hidden      hidden sizes: one value for twolayer / convnet / sigmoid-mlp / prelu-mlp,
 *                    one per hidden layer for fc, none for mnist-cnn (its sizes are fixed)
 * @param weightScale standard deviation of the initial weights (twolayer, convnet, and fc
 *                    without He init; the other models choose their own scale)
 * @param heInit      fc only: He initialization instead of weightScale
 * @param batchNorm   fc only: batch norm after each hidden affine layer
 * @param dropout     drop probability of hidden units (fc, mnist-cnn), in [0, 1)
 * @param reg         L2 regularization strength
 * @param numFilters  convnet: filters of the convolution; resnet-small, vgg-small: the base width w
 * @param filterSize  convnet only: odd kernel size
 * @param seed        seed of the weight initialization (and dropout masks)
 * @param loss        the loss it trains with, one of {@link Loss#NAMES}: "softmax" (the default,
 *                    also for a {@code model.json} written before the loss was recorded) or
 *                    "hinge" (multiclass SVM)
 */
public record ModelSpec(String type, int[] inputShape, int numClasses, int[] hidden, float weightScale, boolean heInit,
                        boolean batchNorm, float dropout, float reg, int numFilters, int filterSize, long seed, String loss) {

    /** The model types, as the command line spells them: the names of {@link ModelRegistry}. */
    public static final List<String> TYPES = ModelRegistry.NAMES;

    /** A spec of a model trained with softmax cross-entropy. */
    public ModelSpec(String type, int[] inputShape, int numClasses, int[] hidden, float weightScale, boolean heInit,
                     boolean batchNorm, float dropout, float reg, int numFilters, int filterSize, long seed) {
        this(type, inputShape, numClasses, hidden, weightScale, heInit, batchNorm, dropout, reg, numFilters, filterSize, seed,
                DEFAULT_LOSS);
    }

    /** The loss of a spec that names none. */
    public static final String DEFAULT_LOSS = "softmax";

    public ModelSpec {
        loss = loss == null ? DEFAULT_LOSS : loss.toLowerCase(Locale.ROOT);
        if (!Loss.NAMES.contains(loss)) {
            throw new UserError("unknown loss '" + loss + "': use one of " + String.join(", ", Loss.NAMES));
        }
        if (type == null || !TYPES.contains(type)) {
            throw new UserError("unknown model '" + type + "': use one of " + String.join(", ", TYPES));
        }
        if (inputShape == null) throw new UserError("model spec of '" + type + "' lacks the input shape");
        inputShape = inputShape.clone();
        checkSizes(type, inputShape, numClasses, hidden, numFilters, filterSize);
        hidden = hidden == null ? new int[0] : hidden.clone();
        for (int h : hidden) if (h < 1) throw new UserError("hidden sizes must be >= 1, got " + Arrays.toString(hidden));
        if (!(dropout >= 0f && dropout < 1f)) throw new UserError("dropout (drop probability) must be in [0, 1), got " + dropout);
        if (!(reg >= 0f) || !Float.isFinite(reg)) throw new UserError("reg must be a finite number >= 0, got " + reg);
        if (!(weightScale > 0f)) throw new UserError("weight scale must be > 0, got " + weightScale);
        ModelRegistry.Entry entry = ModelRegistry.get(type);
        boolean hiddenOk = switch (entry.hidden()) {
            case ONE -> hidden.length == 1;
            case ONE_PER_LAYER, NONE -> true;
        };
        if (!hiddenOk) throw new UserError(type + " takes one hidden size, got " + hidden.length + ": " + Arrays.toString(hidden));
        String problem = entry.check().problem(inputShape, numClasses, numFilters, filterSize);
        if (problem != null) throw new UserError(problem);
    }

    /**
     * The default architecture of a model type, the one {@code panama-nn train} uses.
     *
     * @param type       one of {@link #TYPES}
     * @param inputShape shape of one example
     * @param numClasses C
     * @param seed       seed of the weight initialization
     */
    public static ModelSpec defaults(String type, int[] inputShape, int numClasses, long seed) {
        ModelRegistry.Entry e = ModelRegistry.get(type);
        return e.defaults().spec(e.name(), inputShape, numClasses, seed);
    }

    /** Largest parameter count a model spec may ask for (4 GiB of float32): checked before anything is allocated. */
    static final long MAX_PARAMS = 1L << 30;

    /** Positive sizes, and a parameter count within {@link #MAX_PARAMS}, before any model is built. */
    private static void checkSizes(String type, int[] inputShape, int numClasses, int[] hidden, int numFilters, int filterSize) {
        for (int d : inputShape) if (d < 1) throw new UserError("input shape must be positive, got " + Arrays.toString(inputShape));
        if (numClasses < 1) throw new UserError("the number of classes must be >= 1, got " + numClasses);
        if (numFilters < 0 || filterSize < 0) {
            throw new UserError("filter count and size must be >= 0, got " + numFilters + " filters of size " + filterSize);
        }
        double d = 1;
        for (int s : inputShape) d *= s;
        double params = 0, in = d;
        if (type.equals("convnet") && inputShape.length == 3) {
            params += (double) numFilters * inputShape[0] * filterSize * filterSize;
            in = (double) numFilters * (inputShape[1] / 2) * (inputShape[2] / 2);
        }
        if (type.equals("resnet-small") && inputShape.length == 3) {
            // 3x3 convolutions w, 2w (x3), 4w, 8w (x3) over the channels before them, then affine from 8w
            double w = numFilters;
            params += 9 * (inputShape[0] * w + 178 * w * w);
            in = 8 * w;
        }
        if (type.equals("vgg-small") && inputShape.length == 3) {
            // 3x3 convolutions: two of w, 2w, 4w, 8w each, over the channels before them, then affine from 8w
            double w = numFilters;
            params += 9 * (inputShape[0] * w + 127 * w * w);
            in = 8 * w;
        }
        if (hidden != null) {
            for (int h : hidden) {
                params += in * h;
                in = h;
            }
        }
        params += in * numClasses;
        if (params > MAX_PARAMS) {
            throw new UserError(String.format(Locale.ROOT, "the %s model asked for (input %s, hidden %s, %d filters of size %d, "
                    + "%d classes) has about %.3g parameters, more than the %d this command line builds", type,
                    Arrays.toString(inputShape), Arrays.toString(hidden), numFilters, filterSize, numClasses, params, MAX_PARAMS));
        }
    }

    /** D, the number of values in one example. */
    public int inputDim() {
        int d = 1;
        for (int s : inputShape) d = Math.multiplyExact(d, s);
        return d;
    }

    /** The dataset a model type trains on by default: "mnist" for the MNIST nets, else "cifar10". */
    public static String defaultDataset(String type) {
        return ModelRegistry.get(type).dataset();
    }

    /** A number in its shortest plain form: 0.001, 0.0016, 0.5, 300. */
    /** A new model with freshly initialized weights, trained with {@link #loss()} (the caller closes it). */
    public SequentialModel build(Ops ops) {
        SequentialModel m = ModelRegistry.get(type).builder().build(ops, this);
        if (!loss.equals(DEFAULT_LOSS)) m.setLoss(Loss.byName(loss));
        return m;
    }

    /** The same spec with other hidden sizes. */
    public ModelSpec withHidden(int... h) {
        return new ModelSpec(type, inputShape, numClasses, h, weightScale, heInit, batchNorm, dropout, reg, numFilters, filterSize, seed, loss);
    }

    /** The same spec with another L2 strength. */
    public ModelSpec withReg(float r) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, heInit, batchNorm, dropout, r, numFilters, filterSize, seed, loss);
    }

    /** The same spec with another initial weight scale (He init unchanged). */
    public ModelSpec withWeightScale(float s) {
        return new ModelSpec(type, inputShape, numClasses, hidden, s, heInit, batchNorm, dropout, reg, numFilters, filterSize, seed, loss);
    }

    /** The same spec with He initialization on or off (fc). */
    public ModelSpec withInit(boolean he) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, he, batchNorm, dropout, reg, numFilters, filterSize, seed, loss);
    }

    /** The same spec with batch norm on or off (fc). */
    public ModelSpec withBatchNorm(boolean on) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, heInit, on, dropout, reg, numFilters, filterSize, seed, loss);
    }

    /** The same spec with another drop probability. */
    public ModelSpec withDropout(float p) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, heInit, batchNorm, p, reg, numFilters, filterSize, seed, loss);
    }

    /** The same spec with another number and size of conv filters (convnet). */
    public ModelSpec withConv(int filters, int size) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, heInit, batchNorm, dropout, reg, filters, size, seed, loss);
    }

    /** The same spec with another initialization seed. */
    public ModelSpec withSeed(long s) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, heInit, batchNorm, dropout, reg, numFilters, filterSize, s, loss);
    }

    /** The same spec with another loss, one of {@link Loss#NAMES}. */
    public ModelSpec withLoss(String l) {
        return new ModelSpec(type, inputShape, numClasses, hidden, weightScale, heInit, batchNorm, dropout, reg, numFilters, filterSize, seed, l);
    }

    /** One line for logs, listing only what the type uses. */
    public String describe() {
        StringBuilder sb = new StringBuilder(type).append(": input ").append(Arrays.toString(inputShape));
        sb.append(", ").append(ModelRegistry.get(type).details().apply(this));
        sb.append(", ").append(numClasses).append(" classes, reg ").append(Formats.number(reg));
        if (!loss.equals(DEFAULT_LOSS)) sb.append(", ").append(loss).append(" loss");
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSpec m && type.equals(m.type) && Arrays.equals(inputShape, m.inputShape) && numClasses == m.numClasses
                && Arrays.equals(hidden, m.hidden) && Float.compare(weightScale, m.weightScale) == 0 && heInit == m.heInit
                && batchNorm == m.batchNorm && Float.compare(dropout, m.dropout) == 0 && Float.compare(reg, m.reg) == 0
                && numFilters == m.numFilters && filterSize == m.filterSize && seed == m.seed && loss.equals(m.loss);
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Arrays.hashCode(inputShape) * 17 + Arrays.hashCode(hidden);
    }

    @Override
    public String toString() { return "ModelSpec[" + describe() + "]"; }

    @Override
    public int[] inputShape() { return inputShape.clone(); }

    @Override
    public int[] hidden() { return hidden.clone(); }
}
