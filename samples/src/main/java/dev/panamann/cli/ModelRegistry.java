package dev.panamann.cli;

import dev.panamann.io.Formats;
import dev.panamann.models.FullyConnectedNet;
import dev.panamann.models.MnistCnn;
import dev.panamann.models.PReluNet;
import dev.panamann.models.ResNet9;
import dev.panamann.models.SequentialModel;
import dev.panamann.models.SigmoidNet;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.models.VggSmall;
import dev.panamann.ops.Ops;
import dev.panamann.train.TrainSettings;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * The models the command line and the examples know, by name: for each, the dataset it trains on
 * by default, its default architecture and training schedule, how its spec is checked, how it
 * is built and described. Every command and example reads these; to add a model to the command
 * line, add one {@link Entry} to {@link #ENTRIES}.
 */
public final class ModelRegistry {

    /** How many hidden sizes a model takes. */
    public enum Hidden { ONE, ONE_PER_LAYER, NONE }

    /** Makes the default spec of a model for data of one example shape and number of classes. */
    @FunctionalInterface
    public interface Defaults {
        ModelSpec spec(String type, int[] inputShape, int numClasses, long seed);
    }

    /** Builds a model with freshly initialized weights from its spec. */
    @FunctionalInterface
    public interface Builder {
        SequentialModel build(Ops ops, ModelSpec spec);
    }

    /**
     * Checks what a spec's hidden sizes cannot express (input shape, classes, conv sizes).
     * Returns an error message for the user, or null when the spec is fine.
     */
    @FunctionalInterface
    public interface Check {
        String problem(int[] inputShape, int numClasses, int numFilters, int filterSize);
    }

    /**
     * The small version of a model that {@code panama-nn gradcheck} checks: shapes that still
     * exercise every path, reg &gt; 0 so the L2 gradient is checked too.
     *
     * @param batch       examples in the random batch: few where one weight reaches many ReLU /
     *                    max-pool kinks
     * @param input       shape of one example
     * @param description one line for the report
     * @param build       builds it with a seed
     */
    public record Gradcheck(int batch, int[] input, Supplier<String> description, BiFunction<Ops, Long, SequentialModel> build) {
        /** The small model given by a spec of a seed (made when used: specs check themselves against this registry). */
        static Gradcheck of(int batch, int[] input, LongFunction<ModelSpec> small) {
            return new Gradcheck(batch, input, () -> small.apply(0).describe(), (ops, seed) -> small.apply(seed).build(ops));
        }
    }

    /**
     * One model type.
     *
     * @param name     the name the command line uses (--model)
     * @param summary  the library class, for help texts
     * @param dataset  the dataset it trains on by default, "cifar10" or "mnist"
     * @param hidden   how many hidden sizes it takes
     * @param defaults its default architecture
     * @param training its default schedule
     * @param check    what else a spec must satisfy
     * @param builder  how it is built
     * @param details   the architecture part of {@link ModelSpec#describe()}
     * @param gradcheck what {@code panama-nn gradcheck} checks
     */
    public record Entry(String name, String summary, String dataset, Hidden hidden, Defaults defaults, TrainSettings training,
                        Check check, Builder builder, Function<ModelSpec, String> details, Gradcheck gradcheck) {}

    private static final Check ANY = (in, c, f, k) -> null;
    /** Input of the small flat models gradcheck uses. */
    private static final int[] FLAT = {12};

    /**
     * The models, in the order help texts list them. The schedules: convnet (the main job) Adam
     * 1e-3, batch 64, 15 epochs, learning rate x 0.9 per epoch, with 500 hidden units (cs231n:
     * 100) and random horizontal flips, which reach 65 % test in minutes on 2 cores with the
     * native backend (the cs231n settings: {@code --hidden 100 --no-flip}; see docs/results.md);
     * the others follow their classic recipes: the cs231n
     * two-layer net with SGD (1.6e-3, batch 400, 13 epochs = ~1600 iterations, decay 0.9), the
     * MNIST conv net with Adam 1e-4, batch 50, 15 epochs (about 15 minutes), the sigmoid MLP with
     * SGD 0.1 and batch 100; resnet-small the fast CIFAR-10 ResNet recipe (crop and flip,
     * SGD-Nesterov with decoupled weight decay, one-cycle, label smoothing, batch 128, 18 epochs),
     * and vgg-small the same recipe.
     */
    public static final List<Entry> ENTRIES = List.of(
            // cs231n ThreeLayerConvNet: conv7x7(32) - relu - pool - affine(500; cs231n 100) - relu - affine, random flips
            new Entry("convnet", "ThreeLayerConvNet", "cifar10", Hidden.ONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[] {500}, 1e-3f, false, false, 0f, 1e-3f, 32, 7, seed),
                    new TrainSettings("adam", 1e-3, 0.9, 64, 15).withFlip(true),
                    (in, c, f, k) -> in.length != 3 || k % 2 == 0 || f < 1
                            ? "convnet needs (C, H, W) examples, an odd filter size and >= 1 filter; got input " + Arrays.toString(in)
                                    + ", " + f + " filters of size " + k
                            : null,
                    (ops, s) -> new ThreeLayerConvNet(ops, s.inputShape(), s.numFilters(), s.filterSize(), s.hidden()[0],
                            s.numClasses(), s.weightScale(), s.reg(), s.seed()),
                    s -> "conv " + s.filterSize() + "x" + s.filterSize() + "x" + s.numFilters() + ", hidden " + s.hidden()[0]
                            + ", weight scale " + Formats.number(s.weightScale()),
                    // a 4x4 image keeps the ReLU and max-pool kinks that one conv weight can cross within a step rare
                    Gradcheck.of(3, new int[] {3, 4, 4}, seed -> new ModelSpec("convnet", new int[] {3, 4, 4}, 5, new int[] {10}, 0.3f, false, false, 0f, 0.1f, 4, 3, seed))),
            // cs231n two-layer net, as tuned in the assignment
            new Entry("twolayer", "TwoLayerNet", "cifar10", Hidden.ONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[] {300}, 1e-4f, false, false, 0f, 1e-2f, 0, 0, seed),
                    new TrainSettings("sgd", 1.6e-3, 0.9, 400, 13), ANY,
                    (ops, s) -> new TwoLayerNet(ops, s.inputDim(), s.hidden()[0], s.numClasses(), s.weightScale(), s.reg(), s.seed()),
                    s -> "hidden " + s.hidden()[0] + ", weight scale " + Formats.number(s.weightScale()),
                    Gradcheck.of(6, FLAT, seed -> new ModelSpec("twolayer", FLAT, 5, new int[] {10}, 0.3f, false, false, 0f, 0.1f, 0, 0, seed))),
            new Entry("fc", "FullyConnectedNet", "cifar10", Hidden.ONE_PER_LAYER,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[] {200, 100}, 1e-2f, true, true, 0f, 1e-3f, 0, 0, seed),
                    new TrainSettings("adam", 1e-3, 0.95, 200, 10), ANY,
                    (ops, s) -> new FullyConnectedNet(ops, s.hidden(), s.inputDim(), s.numClasses(), new FullyConnectedNet.Options(
                            s.weightScale(), s.heInit(), s.batchNorm(), s.dropout(), s.reg(), s.seed())),
                    s -> "hidden " + Arrays.toString(s.hidden()) + (s.heInit() ? ", He init" : ", weight scale " + Formats.number(s.weightScale()))
                            + (s.batchNorm() ? ", batch norm" : "") + (s.dropout() > 0 ? ", dropout " + Formats.number(s.dropout()) : ""),
                    Gradcheck.of(6, FLAT, seed -> new ModelSpec("fc", FLAT, 5, new int[] {10, 8}, 0.3f, false, true, 0f, 0.1f, 0, 0, seed))),
            new Entry("mnist-cnn", "MnistCnn", "mnist", Hidden.NONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[0], 1e-2f, true, false, 0.5f, 0f, 0, 0, seed),
                    new TrainSettings("adam", 1e-4, 1.0, 50, 15),
                    (in, c, f, k) -> !Arrays.equals(in, new int[] {1, 28, 28}) || c != 10
                            ? "mnist-cnn takes (1, 28, 28) MNIST digits of 10 classes, but the data has examples of shape "
                                    + Arrays.toString(in) + " and " + c + " classes: use --dataset mnist"
                            : null,
                    (ops, s) -> new MnistCnn(ops, s.dropout(), s.reg(), s.seed()),
                    s -> "conv5x5x32-pool-conv5x5x64-pool-fc1024, dropout " + Formats.number(s.dropout()),
                    // MnistCnn's layer stack at small sizes, He init, no dropout (its masks are random): at
                    // its own sizes (28x28, 32 and 64 filters) one conv weight moves over a thousand ReLU
                    // inputs and max-pool windows, so float32 steps large enough to be measured cross many
                    // kinks and the check says nothing
                    new Gradcheck(3, new int[] {1, 4, 4}, () -> "mnist-cnn's layers at small sizes: input [1, 4, 4], conv5x5x3 - relu - pool - "
                            + "conv5x5x4 - relu - pool - fc8 - relu - fc10, reg 0.1",
                            (ops, seed) -> new MnistCnn(ops, 4, 3, 4, 8, 0f, 0.1f, seed))),
            // ResNet-9 of the fast CIFAR-10 recipes at a quarter of its width (--filters sets the base width)
            new Entry("resnet-small", "ResNet9", "cifar10", Hidden.NONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[0], 1f, true, true, 0f, 0f, 16, 3, seed),
                    // the fast-CIFAR recipe: random crops (pad 4) and flips, SGD-Nesterov with decoupled weight
                    // decay 5e-4, one-cycle to 0.1, label smoothing 0.1; 18 epochs fit in ~25 minutes on 2 cores
                    new TrainSettings("sgd_nesterov", 0.1, 1.0, 128, 18, false, "crop,flip", "onecycle", null, 5e-4, 0.1),
                    (in, c, f, k) -> in.length != 3 || in[1] != in[2] || in[1] % 8 != 0 || f < 1
                            ? "resnet-small needs (C, H, W) examples with H = W a multiple of 8 and a width (--filters) >= 1; got input "
                                    + Arrays.toString(in) + ", width " + f
                            : null,
                    (ops, s) -> new ResNet9(ops, s.inputShape(), s.numFilters(), s.numClasses(), s.reg(), s.seed()),
                    s -> "ResNet-9, width " + s.numFilters() + " (" + s.numFilters() + "-" + 2 * s.numFilters() + "-"
                            + 4 * s.numFilters() + "-" + 8 * s.numFilters() + " channels), batch norm, He init",
                    // an element-wise float32 check of nine batch norms over a tiny batch crosses many
                    // ReLU / max-pool kinks per step: expect errors above 1e-3 (the library checks the
                    // layers and blocks one by one, and the whole model along each tensor's gradient
                    // direction: WholeModelGradientTest)
                    Gradcheck.of(4, new int[] {3, 8, 8}, seed -> new ModelSpec("resnet-small", new int[] {3, 8, 8}, 5, new int[0], 1f, true, true, 0f, 0.1f, 2, 3, seed))),
            // a VGG-style net: four stages of two conv-bn-relu units (w, 2w, 4w, 8w channels), max pools between
            // them, global average pool (--filters sets the base width); the resnet-small recipe
            new Entry("vgg-small", "VggSmall", "cifar10", Hidden.NONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[0], 1f, true, true, 0f, 0f, 16, 3, seed),
                    new TrainSettings("sgd_nesterov", 0.1, 1.0, 128, 18, false, "crop,flip", "onecycle", null, 5e-4, 0.1),
                    (in, c, f, k) -> in.length != 3 || in[1] != in[2] || in[1] % 8 != 0 || f < 1
                            ? "vgg-small needs (C, H, W) examples with H = W a multiple of 8 and a width (--filters) >= 1; got input "
                                    + Arrays.toString(in) + ", width " + f
                            : null,
                    (ops, s) -> new VggSmall(ops, s.inputShape(), s.numFilters(), s.numClasses(), s.reg(), s.seed()),
                    s -> "VGG-style, width " + s.numFilters() + " (2 x " + s.numFilters() + ", 2 x " + 2 * s.numFilters() + ", 2 x "
                            + 4 * s.numFilters() + ", 2 x " + 8 * s.numFilters() + " channels), batch norm, He init",
                    // as resnet-small: eight batch norms over a tiny batch cross many ReLU / max-pool kinks per step,
                    // expect element-wise errors above 1e-3 (the library checks its units one by one and the
                    // whole model along each tensor's gradient direction)
                    Gradcheck.of(4, new int[] {3, 8, 8}, seed -> new ModelSpec("vgg-small", new int[] {3, 8, 8}, 5, new int[0], 1f, true, true, 0f, 0.1f, 2, 3, seed))),
            new Entry("sigmoid-mlp", "SigmoidNet", "mnist", Hidden.ONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[] {50}, 1e-2f, false, false, 0f, 0f, 0, 0, seed),
                    new TrainSettings("sgd", 0.1, 1.0, 100, 30), ANY,
                    (ops, s) -> new SigmoidNet(ops, s.inputDim(), s.hidden()[0], s.numClasses(), s.reg(), s.seed()),
                    s -> "hidden " + s.hidden()[0],
                    Gradcheck.of(6, FLAT, seed -> new ModelSpec("sigmoid-mlp", FLAT, 5, new int[] {10}, 1f, false, false, 0f, 0.1f, 0, 0, seed))),
            new Entry("prelu-mlp", "PReluNet", "mnist", Hidden.ONE,
                    (t, in, c, seed) -> new ModelSpec(t, in, c, new int[] {256}, 1e-2f, true, false, 0f, 0f, 0, 0, seed),
                    new TrainSettings("adam", 1e-3, 0.95, 100, 10), ANY,
                    (ops, s) -> new PReluNet(ops, s.inputDim(), s.hidden()[0], s.numClasses(), s.reg(), s.seed()),
                    s -> "hidden " + s.hidden()[0],
                    Gradcheck.of(6, FLAT, seed -> new ModelSpec("prelu-mlp", FLAT, 5, new int[] {10}, 1f, false, false, 0f, 0.1f, 0, 0, seed))));

    private static final Map<String, Entry> BY_NAME = new LinkedHashMap<>();

    static {
        for (Entry e : ENTRIES) BY_NAME.put(e.name(), e);
    }

    /** The model names, in the order of {@link #ENTRIES}. */
    public static final List<String> NAMES = List.copyOf(BY_NAME.keySet());

    private ModelRegistry() {}

    /** The names, for picocli's {@code completionCandidates} (help texts list them). */
    public static final class Names implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() { return NAMES.iterator(); }
    }

    /**
     * The entry of a model name (any case).
     *
     * @throws UserError naming the known models when there is none of that name
     */
    public static Entry get(String name) {
        Entry e = name == null ? null : BY_NAME.get(name.toLowerCase(Locale.ROOT));
        if (e == null) throw new UserError("unknown model '" + name + "': use one of " + String.join(", ", NAMES));
        return e;
    }
}
