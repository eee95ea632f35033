package dev.panamann.fault;

import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.dnnl.NativeOps;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Child-JVM program of the fault suite: one thread runs oneDNN work in a loop while the main
 * thread closes what it runs on, many times at varied moments. Mode {@code model} closes the
 * model during {@code scores}, {@code backend} closes the {@link NativeOps} under a running
 * model, {@code plan} closes a conv plan during its forward calls. Exits 0 when every round
 * ended with the worker either finishing or failing with {@link IllegalStateException}; exits 1
 * on any other exception. A JVM crash (the bug this guards against) shows as a signal exit.
 */
public final class CloseWhileRunning {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int rounds = Integer.parseInt(args[1]);
        AtomicInteger refused = new AtomicInteger(), finished = new AtomicInteger();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        Rng rng = new Rng(3);
        for (int r = 0; r < rounds; r++) {
            NativeOps ops = new NativeOps(2);
            ThreeLayerConvNet model = new ThreeLayerConvNet(ops, new int[] {3, 16, 16}, 8, 3, 20, 10, 1e-2f, 0f, r);
            ConvGeometry g = new ConvGeometry(4, 3, 16, 16, 8, 3, 3, 1, 1);
            Conv2dOp plan = ops.conv2d(g);
            Tensor x = Tensor.randn(rng, 1f, 4, 3, 16, 16);
            Tensor w = Tensor.randn(rng, 1f, 8, 3, 3, 3), b = Tensor.zeros(8), y = Tensor.zeros(4, 8, 16, 16);
            Thread worker = new Thread(() -> {
                try {
                    for (int i = 0; i < 1_000_000; i++) {
                        if (mode.equals("plan")) plan.forward(x, w, b, y);
                        else model.scores(x);
                    }
                    finished.incrementAndGet();
                } catch (IllegalStateException e) {
                    refused.incrementAndGet();
                } catch (Throwable e) {
                    unexpected.compareAndSet(null, e);
                }
            }, "worker");
            worker.start();
            Thread.sleep(2 + r % 7);
            switch (mode) {
                case "model" -> model.close();
                case "backend" -> ops.close();
                case "plan" -> plan.close();
                default -> throw new IllegalArgumentException("mode: model, backend or plan, got " + mode);
            }
            worker.join();
            plan.close();
            model.close();
            ops.close();
            for (Tensor t : new Tensor[] {x, w, b, y}) t.close();
            if (unexpected.get() != null) {
                System.out.println("round " + r + ": unexpected " + unexpected.get());
                unexpected.get().printStackTrace(System.out);
                System.exit(1);
            }
        }
        System.out.println("mode " + mode + ": " + rounds + " rounds, " + refused.get() + " refused with IllegalStateException, "
                + finished.get() + " finished");
        System.exit(refused.get() > 0 ? 0 : 2);
    }

    private CloseWhileRunning() {}
}
