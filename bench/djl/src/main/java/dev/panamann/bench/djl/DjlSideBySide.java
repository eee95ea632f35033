package dev.panamann.bench.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The DJL (PyTorch engine) side of the side-by-side whole-run benchmark
 * ({@code bench/side-by-side.sh}): the cases of {@code dev.panamann.bench.SideBySide} with the
 * same models, initialization scales and hyperparameters, through DJL's Block, Trainer and
 * Optimizer API. Prints {@code RESULT <case> <images/s> <seconds> <last loss>} per case.
 *
 * <p>DJL's L2 is its optimizers' weight decay, which covers the biases too (panama-nn and
 * the PyTorch worker decay only the weights); it changes nothing measurable in the time.
 *
 * <p>Usage: {@code DjlSideBySide --data DIR [--cases a,b] [--images N] [--warmup W] [--epochs E]}.
 * Threads: {@code -Dai.djl.pytorch.num_threads=2}. Offline: libtorch comes from the
 * {@code pytorch-native-cpu} jar on the class path ({@code -Dai.djl.offline=true}).
 */
public final class DjlSideBySide {
    static final List<String> CASES = List.of("convnet-adam-64", "convnet-adam-256", "convnet-sgdm-64", "convnet-sgdm-256",
            "convnet-infer-256", "twolayer-64", "twolayer-256", "fcbn-200");

    private DjlSideBySide() {}

    public static void main(String[] args) throws Exception {
        Path data = null;
        List<String> cases = CASES;
        int images = 10_000, warmup = 20, epochs = 1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--data" -> data = Path.of(v);
                case "--cases" -> cases = List.of(v.split(","));
                case "--images" -> images = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--epochs" -> epochs = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (data == null) throw new IllegalArgumentException("--data DIR (cifar-10-batches-bin) is required");
        for (String c : cases) if (!CASES.contains(c)) throw new IllegalArgumentException("unknown case " + c);
        float[][] xy = load(data, images);
        Engine engine = Engine.getEngine("PyTorch");
        System.out.println("INFO djl " + Engine.getDjlVersion() + " engine " + engine.getEngineName() + " " + engine.getVersion()
                + " threads " + System.getProperty("ai.djl.pytorch.num_threads"));
        for (String c : cases) {
            double[] r = runCase(c, xy[0], xy[1], warmup, epochs);
            System.out.println(String.format(Locale.ROOT, "RESULT %s %.1f %.3f %.5f", c, r[0], r[1], r[2]));
            System.out.flush();
        }
    }

    /** x (N * 3072) minus the mean image, and the labels (as floats). */
    static float[][] load(Path folder, int limit) throws IOException {
        float[] x = new float[limit * 3072];
        float[] y = new float[limit];
        int n = 0;
        for (int b = 1; b <= 5 && n < limit; b++) {
            try (InputStream in = Files.newInputStream(folder.resolve("data_batch_" + b + ".bin"))) {
                byte[] rec = new byte[3073];
                while (n < limit && in.readNBytes(rec, 0, rec.length) == rec.length) {
                    y[n] = rec[0] & 0xff;
                    for (int i = 0; i < 3072; i++) x[n * 3072 + i] = rec[1 + i] & 0xff;
                    n++;
                }
            }
        }
        if (n < limit) x = Arrays.copyOf(x, n * 3072);
        double[] mean = new double[3072];
        for (int r = 0; r < n; r++) for (int i = 0; i < 3072; i++) mean[i] += x[r * 3072 + i];
        for (int r = 0; r < n; r++) for (int i = 0; i < 3072; i++) x[r * 3072 + i] -= (float) (mean[i] / n);
        return new float[][] {x, Arrays.copyOf(y, n)};
    }

    static double[] runCase(String c, float[] x, float[] y, int warmup, int epochs) {
        int batch = Integer.parseInt(c.substring(c.lastIndexOf('-') + 1));
        int n = y.length;
        boolean infer = c.startsWith("convnet-infer");
        boolean conv = c.startsWith("convnet");
        SequentialBlock block = new SequentialBlock();
        float reg;
        DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss());
        if (conv) {
            block.add(Conv2d.builder().setKernelShape(new Shape(7, 7)).setFilters(32).optPadding(new Shape(3, 3)).build())
                    .add(Activation.reluBlock()).add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(100).build()).add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(10).build());
            cfg.optInitializer(new NormalInitializer(1e-3f), Parameter.Type.WEIGHT);
            reg = 1e-3f;
        } else if (c.startsWith("twolayer")) {
            block.add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(300).build()).add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(10).build());
            cfg.optInitializer(new NormalInitializer(1e-4f), Parameter.Type.WEIGHT);
            reg = 1e-2f;
        } else {
            block.add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(200).build()).add(BatchNorm.builder().build())
                    .add(Activation.reluBlock()).add(Linear.builder().setUnits(100).build()).add(BatchNorm.builder().build())
                    .add(Activation.reluBlock()).add(Linear.builder().setUnits(10).build());
            // He: N(0, 2 / fan_in)
            cfg.optInitializer(new XavierInitializer(XavierInitializer.RandomType.GAUSSIAN, XavierInitializer.FactorType.IN, 2),
                    Parameter.Type.WEIGHT);
            reg = 1e-3f;
        }
        Optimizer opt;
        if (c.startsWith("convnet-sgdm")) {
            opt = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1e-2f)).optMomentum(0.9f).optWeightDecays(reg).build();
        } else if (c.startsWith("twolayer")) {
            opt = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1.6e-3f)).optWeightDecays(reg).build();
        } else {
            opt = Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).optWeightDecays(reg).build();
        }
        cfg.optOptimizer(opt).optDevices(new Device[] {Device.cpu()});
        try (Model model = Model.newInstance(c, "PyTorch")) {
            model.setBlock(block);
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(conv ? new Shape(batch, 3, 32, 32) : new Shape(batch, 3072));
                Shape xs = conv ? new Shape(batch, 3, 32, 32) : new Shape(batch, 3072);
                float[] xb = new float[batch * 3072];
                float[] yb = new float[batch];
                int[] idx = new int[batch];
                Random rnd = new Random(7);
                double loss = 0;
                for (int s = 0; s < warmup; s++) {
                    for (int i = 0; i < batch; i++) idx[i] = rnd.nextInt(n);
                    loss = step(trainer, model, infer, x, y, idx, xb, yb, xs);
                }
                int[] order = new int[n];
                long images = 0, t0 = System.nanoTime();
                for (int e = 0; e < epochs; e++) {
                    for (int i = 0; i < n; i++) order[i] = i;
                    if (!infer) {
                        for (int i = n - 1; i > 0; i--) {
                            int j = rnd.nextInt(i + 1), t = order[i];
                            order[i] = order[j];
                            order[j] = t;
                        }
                    }
                    for (int s = 0; s + batch <= n; s += batch) {
                        System.arraycopy(order, s, idx, 0, batch);
                        loss = step(trainer, model, infer, x, y, idx, xb, yb, xs);
                        images += batch;
                    }
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                return new double[] {images / sec, sec, loss};
            }
        }
    }

    static double step(Trainer trainer, Model model, boolean infer, float[] x, float[] y, int[] idx, float[] xb, float[] yb, Shape xs) {
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(x, idx[i] * 3072, xb, i * 3072, 3072);
            yb[i] = y[idx[i]];
        }
        try (NDManager m = trainer.getManager().newSubManager()) {
            NDArray xa = m.create(xb, xs);
            if (infer) {
                NDList out = trainer.evaluate(new NDList(xa));
                return out.singletonOrThrow().getFloat(0, 0);
            }
            NDArray ya = m.create(yb, new Shape(idx.length));
            float loss;
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDList pred = trainer.forward(new NDList(xa));
                NDArray l = trainer.getLoss().evaluate(new NDList(ya), pred);
                gc.backward(l);
                loss = l.getFloat();
            }
            trainer.step();
            return loss;
        }
    }
}
