package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.java.JavaBatchNormOp;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.NumGrad;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native backend runs batch norm over (N, C) rows in Java ({@link JavaBatchNormOp#rows});
 * it agrees with oneDNN's batch norm on the same rows (and the general Java loops are checked
 * against oneDNN in {@code BatchNormOpTest}).
 */
class BatchNormRowsTest {
    @ParameterizedTest(name = "n={0} c={1}")
    @CsvSource({"4,5", "3,1", "7,3", "6,37", "200,100", "64,200"})
    void javaRowsAgreeWithOneDnn(int n, int c) {
        NativeOps ops = (NativeOps) Backs.nativeOps();
        Rng rng = new Rng(n * 31L + c);
        try (BatchNormOp rows = ops.batchNorm(n, c, 1, 1e-5f); BatchNormOp dnnl = ops.dnnlBatchNorm(n, c, 1, 1e-5f);
             Tensor x = Tensor.randn(rng, 1.5f, n, c); Tensor gamma = Tensor.randn(rng, 1f, c);
             Tensor beta = Tensor.randn(rng, 1f, c); Tensor dout = Tensor.randn(rng, 1f, n, c);
             Tensor rm1 = Tensor.randn(rng, 0.1f, c); Tensor rv1 = Tensor.uniform(rng, 0.5f, 1.5f, c);
             Tensor rm2 = rm1.copy(); Tensor rv2 = rv1.copy();
             Tensor out1 = Tensor.zeros(n, c); Tensor out2 = Tensor.zeros(n, c);
             Tensor dx1 = Tensor.zeros(n, c); Tensor dx2 = Tensor.zeros(n, c);
             Tensor dg1 = Tensor.zeros(c); Tensor dg2 = Tensor.zeros(c); Tensor db1 = Tensor.zeros(c); Tensor db2 = Tensor.zeros(c)) {
            assertInstanceOf(JavaBatchNormOp.class, rows);
            assertInstanceOf(DnnlBatchNormOp.class, dnnl);
            for (long i = 0; i < x.size(); i++) x.setFlat(i, x.getFlat(i) + 0.5f);
            rows.forward(x, gamma, beta, out1, rm1, rv1, 0.9f, true);
            dnnl.forward(x, gamma, beta, out2, rm2, rv2, 0.9f, true);
            NumGrad.assertAgree("train out", out2.toArray(), out1.toArray(), 1e-5);
            NumGrad.assertAgree("running mean", rm2.toArray(), rm1.toArray(), 1e-6);
            NumGrad.assertAgree("running var", rv2.toArray(), rv1.toArray(), 1e-6);
            rows.backward(x, gamma, dout, dx1, dg1, db1);
            dnnl.backward(x, gamma, dout, dx2, dg2, db2);
            NumGrad.assertAgree("dx", dx2.toArray(), dx1.toArray(), 1e-5);
            NumGrad.assertAgree("dgamma", dg2.toArray(), dg1.toArray(), 1e-5);
            NumGrad.assertAgree("dbeta", db2.toArray(), db1.toArray(), 1e-5);
            rows.forward(x, gamma, beta, out1, rm1, rv1, 0.9f, false);
            dnnl.forward(x, gamma, beta, out2, rm2, rv2, 0.9f, false);
            NumGrad.assertAgree("eval out", out2.toArray(), out1.toArray(), 1e-5);
        }
    }
}
