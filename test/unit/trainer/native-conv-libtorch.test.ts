import { describeNativeConv } from "../../helpers/native-conv-suite";
import { describeNativeStep } from "../../helpers/native-step-suite";

describeNativeConv("libtorch");
describeNativeStep("libtorch");
