package dev.panamann.spark;

import dev.panamann.optim.Optimizers;
import java.io.Serializable;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How {@link SparkTrainer} trains: immutable, checked when built, sent to every worker. Build
 * one with {@link #builder(int...)}; every value has a default except the example shape.
 *
 * <pre>{@code
 * SparkSettings s = SparkSettings.builder(3, 32, 32).workers(4).batchSize(256).numEpochs(15)
 *         .updateRule("adam").learningRate(1e-3).lrDecay(0.9).checkpointDir("/shared/run1").build();
 * }</pre>
 *
 * @param exampleShape    the shape of one example, e.g. 3, 32, 32 for CIFAR-10 images
 * @param workers         workers (barrier tasks, one replica each), &gt;= 1; default 2
 * @param batchSize       the global minibatch (all workers together), a multiple of {@code workers}; default 64
 * @param numEpochs       epochs over the training data, &gt;= 1; default 10
 * @param updateRule      the Solver's update rule ("sgd", "sgd_momentum", "nesterov", "rmsprop", "adam"); default sgd
 * @param optimConfig     the rule's hyperparameters by their cs231n names (learning_rate, beta1, ...); default none
 * @param lrDecay         learning-rate factor after every epoch, &gt; 0; default 1
 * @param seed            seed of the minibatch draws (rank r uses {@link SparkTrainer#rankSeed}); default 0
 * @param backend         backend on the executors: "native", "java" or "auto"; default auto
 * @param threads         threads per worker; 0 takes the task's {@code spark.task.cpus}; default 0
 * @param checkpointDir   directory for rank 0's checkpoints, one every executor and the driver see; null
 *                        (the default) for none, when a restart starts from the beginning
 * @param maxRestarts     how often the driver starts the stage again after a task failure, &gt;= 0; default 2
 * @param timeout         how long a worker waits for a peer without progress before failing; default 120 s
 * @param numTrainSamples training examples (of each worker's shard) per train-accuracy check; 0 for all; default 1000
 * @param numValSamples   validation examples per check (split over the workers); 0 (the default) for all
 * @param verbose         rank 0 prints the Solver's progress lines (to the executor's stdout); default true
 * @param printEvery      progress line every this many iterations, &gt;= 1; default 100
 * @param collectReplicas return every replica's final parameters too (to check that they agree); default false
 */
public record SparkSettings(int[] exampleShape, int workers, int batchSize, int numEpochs, String updateRule,
                            Map<String, Double> optimConfig, double lrDecay, long seed, String backend, int threads,
                            String checkpointDir, int maxRestarts, Duration timeout, int numTrainSamples, int numValSamples,
                            boolean verbose, int printEvery, boolean collectReplicas) implements Serializable {

    /** The backends a worker can ask for. */
    public static final List<String> BACKENDS = List.of("native", "java", "auto");

    /**
     * Checks every value.
     *
     * @throws IllegalArgumentException naming the first setting that is wrong and why
     */
    public SparkSettings {
        if (exampleShape == null || exampleShape.length == 0) throw new IllegalArgumentException("example shape is missing");
        exampleShape = exampleShape.clone();
        long n = 1;
        for (int d : exampleShape) {
            if (d < 1) throw new IllegalArgumentException("example shape " + Arrays.toString(exampleShape) + " has a dimension < 1");
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("example shape " + Arrays.toString(exampleShape) + " is too large");
        }
        if (workers < 1) throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (batchSize % workers != 0) {
            throw new IllegalArgumentException("batch size " + batchSize + " is not a multiple of the " + workers
                    + " workers: each worker takes batchSize / workers examples per step");
        }
        if (numEpochs < 1) throw new IllegalArgumentException("numEpochs must be >= 1, got " + numEpochs);
        String rule = updateRule == null ? null : updateRule.trim().toLowerCase(Locale.ROOT);
        if (!Optimizers.RULES.contains(rule)) {
            throw new IllegalArgumentException("unknown update rule '" + updateRule + "': use one of " + Optimizers.RULES);
        }
        updateRule = rule;
        LinkedHashMap<String, Double> c = new LinkedHashMap<>();
        if (optimConfig != null) {
            for (var e : optimConfig.entrySet()) {
                if (e.getValue() == null) throw new IllegalArgumentException("optim config '" + e.getKey() + "' is null");
                c.put(e.getKey(), e.getValue());
            }
        }
        Optimizers.create(updateRule, c).close(); // checks names and values now, on the driver
        optimConfig = Collections.unmodifiableMap(c);
        if (!(lrDecay > 0) || !Double.isFinite(lrDecay)) throw new IllegalArgumentException("lrDecay must be a finite number > 0, got " + lrDecay);
        String b = backend == null ? null : backend.trim().toLowerCase(Locale.ROOT);
        if (!BACKENDS.contains(b)) throw new IllegalArgumentException("unknown backend '" + backend + "': use native, java or auto");
        backend = b;
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        if (checkpointDir != null && checkpointDir.isBlank()) throw new IllegalArgumentException("checkpoint directory is blank");
        if (maxRestarts < 0) throw new IllegalArgumentException("maxRestarts must be >= 0, got " + maxRestarts);
        if (timeout == null || timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
        if (numTrainSamples < 0) throw new IllegalArgumentException("numTrainSamples must be >= 0, got " + numTrainSamples);
        if (numValSamples < 0) throw new IllegalArgumentException("numValSamples must be >= 0, got " + numValSamples);
        if (printEvery < 1) throw new IllegalArgumentException("printEvery must be >= 1, got " + printEvery);
    }

    /** The shape of one example (a copy). */
    @Override
    public int[] exampleShape() { return exampleShape.clone(); }

    /** Values per example: the product of the example shape. */
    public int exampleSize() {
        int n = 1;
        for (int d : exampleShape) n *= d;
        return n;
    }

    /** Examples each worker takes per step: {@code batchSize / workers}. */
    public int batchPerWorker() { return batchSize / workers; }

    /** A builder with the defaults for examples of the given shape. */
    public static Builder builder(int... exampleShape) {
        return new Builder(exampleShape);
    }

    /** A builder holding these settings, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder(exampleShape);
        b.workers = workers;
        b.batchSize = batchSize;
        b.numEpochs = numEpochs;
        b.updateRule = updateRule;
        b.optimConfig = new LinkedHashMap<>(optimConfig);
        b.lrDecay = lrDecay;
        b.seed = seed;
        b.backend = backend;
        b.threads = threads;
        b.checkpointDir = checkpointDir;
        b.maxRestarts = maxRestarts;
        b.timeout = timeout;
        b.numTrainSamples = numTrainSamples;
        b.numValSamples = numValSamples;
        b.verbose = verbose;
        b.printEvery = printEvery;
        b.collectReplicas = collectReplicas;
        return b;
    }

    /** Collects the settings; {@link #build()} checks them all (see the record's parameters for the defaults). */
    public static final class Builder {
        private final int[] exampleShape;
        private int workers = 2;
        private int batchSize = 64;
        private int numEpochs = 10;
        private String updateRule = "sgd";
        private LinkedHashMap<String, Double> optimConfig = new LinkedHashMap<>();
        private double lrDecay = 1.0;
        private long seed;
        private String backend = "auto";
        private int threads;
        private String checkpointDir;
        private int maxRestarts = 2;
        private Duration timeout = Duration.ofSeconds(120);
        private int numTrainSamples = 1000;
        private int numValSamples;
        private boolean verbose = true;
        private int printEvery = 100;
        private boolean collectReplicas;

        private Builder(int[] exampleShape) {
            this.exampleShape = exampleShape == null ? null : exampleShape.clone();
        }

        /** Workers (barrier tasks, one replica each). */
        public Builder workers(int w) { this.workers = w; return this; }

        /** The global minibatch, a multiple of the workers. */
        public Builder batchSize(int b) { this.batchSize = b; return this; }

        /** Epochs over the training data. */
        public Builder numEpochs(int e) { this.numEpochs = e; return this; }

        /** The Solver's update rule. */
        public Builder updateRule(String rule) { this.updateRule = rule; return this; }

        /** The rule's hyperparameters by their cs231n names (replaces those set before). */
        public Builder optimConfig(Map<String, ? extends Number> config) {
            LinkedHashMap<String, Double> c = new LinkedHashMap<>();
            if (config != null) {
                for (var e : config.entrySet()) {
                    if (e.getValue() == null) throw new IllegalArgumentException("optim config '" + e.getKey() + "' is null");
                    c.put(e.getKey(), e.getValue().doubleValue());
                }
            }
            this.optimConfig = c;
            return this;
        }

        /** Sets {@code learning_rate} of the optim config. */
        public Builder learningRate(double lr) { optimConfig.put("learning_rate", lr); return this; }

        /** Learning-rate factor after every epoch. */
        public Builder lrDecay(double d) { this.lrDecay = d; return this; }

        /** Seed of the minibatch draws. */
        public Builder seed(long s) { this.seed = s; return this; }

        /** Backend on the executors: native, java or auto. */
        public Builder backend(String b) { this.backend = b; return this; }

        /** Threads per worker; 0 for {@code spark.task.cpus}. */
        public Builder threads(int t) { this.threads = t; return this; }

        /** Directory for rank 0's checkpoints (every executor must see it), or null for none. */
        public Builder checkpointDir(String dir) { this.checkpointDir = dir; return this; }

        /** How often the driver starts the stage again after a task failure. */
        public Builder maxRestarts(int n) { this.maxRestarts = n; return this; }

        /** How long a worker waits for a peer without progress. */
        public Builder timeout(Duration t) { this.timeout = t; return this; }

        /** Training examples per train-accuracy check; 0 for all. */
        public Builder numTrainSamples(int n) { this.numTrainSamples = n; return this; }

        /** Validation examples per check; 0 for all. */
        public Builder numValSamples(int n) { this.numValSamples = n; return this; }

        /** Whether rank 0 prints progress lines. */
        public Builder verbose(boolean v) { this.verbose = v; return this; }

        /** Progress line every this many iterations. */
        public Builder printEvery(int n) { this.printEvery = n; return this; }

        /** Whether to return every replica's final parameters. */
        public Builder collectReplicas(boolean on) { this.collectReplicas = on; return this; }

        /**
         * The settings.
         *
         * @throws IllegalArgumentException naming the first setting that is wrong
         */
        public SparkSettings build() {
            return new SparkSettings(exampleShape, workers, batchSize, numEpochs, updateRule, optimConfig, lrDecay, seed, backend,
                    threads, checkpointDir, maxRestarts, timeout, numTrainSamples, numValSamples, verbose, printEvery,
                    collectReplicas);
        }
    }
}
