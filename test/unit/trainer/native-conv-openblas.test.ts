import { describeNativeConv } from "../../helpers/native-conv-suite";

describeNativeConv("openblas");
